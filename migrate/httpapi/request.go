package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/model"
)

// UnmarshalJSON reads a create request strictly (unknown fields refused)
// and lets Options.SyncInterval be a duration string ("24h", "1d") as well
// as a number of nanoseconds.
func (r *CreateBatchRequest) UnmarshalJSON(b []byte) error {
	type plain CreateBatchRequest
	var aux struct {
		plain
		Options json.RawMessage `json:"Options"`
	}
	if err := strictUnmarshal(b, &aux); err != nil {
		return err
	}
	*r = CreateBatchRequest(aux.plain)
	r.Options = model.BatchOptions{}
	if len(aux.Options) == 0 || string(aux.Options) == "null" {
		return nil
	}
	opts, err := decodeBatchOptions(aux.Options)
	if err != nil {
		return err
	}
	r.Options = opts
	return nil
}

// decodeBatchOptions decodes model.BatchOptions with SyncInterval as either
// a duration string or nanoseconds.
func decodeBatchOptions(b []byte) (model.BatchOptions, error) {
	type plain model.BatchOptions
	var aux struct {
		plain
		SyncInterval json.RawMessage `json:"SyncInterval"`
	}
	if err := strictUnmarshal(b, &aux); err != nil {
		return model.BatchOptions{}, err
	}
	opts := model.BatchOptions(aux.plain)
	d, err := parseJSONDuration(aux.SyncInterval)
	if err != nil {
		return opts, fmt.Errorf("Options.SyncInterval: %w", err)
	}
	opts.SyncInterval = d
	return opts, nil
}

// parseJSONDuration reads "24h"/"1d" or a number of nanoseconds; absent or
// null is zero (the default applies).
func parseJSONDuration(b []byte) (time.Duration, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		return config.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return 0, fmt.Errorf("want a duration like \"24h\" or nanoseconds, got %s", truncate(string(b), 64))
	}
	return time.Duration(n), nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
