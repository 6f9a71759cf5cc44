package graphemu_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

func sentFilter(id string) string {
	v := url.Values{"$filter": {"internetMessageId eq '" + strings.ReplaceAll(id, "'", "''") + "'"}, "$select": {"id,parentFolderId"}}
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

// TestSendMail_FoundByInternetMessageId: a mail sent with an
// internetMessageId is in Sent Items with it and found by
// $filter=internetMessageId eq '<…>' (the mailbox and the folder); one
// sent without gets an id of Exchange's own.
func TestSendMail_FoundByInternetMessageId(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	const id = "<report.o'brien.1@contoso.test>"
	msg := map[string]any{"message": map[string]any{"subject": "report", "internetMessageId": id,
		"body": map[string]string{"contentType": "html", "content": "<p>hi</p>"}, "toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "ops@contoso.test"}}}}}
	for _, p := range []string{"/messages", "/mailFolders/sentitems/messages"} {
		if r := e.do("GET", "/users/"+user+p+"?"+sentFilter(id), nil); r.status != 200 || len(valueOf(r)) != 0 {
			t.Fatalf("before sending, %s: %d %s", p, r.status, r.raw)
		}
	}
	if r := e.do("POST", "/users/"+user+"/sendMail", msg); r.status != 202 {
		t.Fatalf("sendMail: %d %s", r.status, r.raw)
	}
	for _, p := range []string{"/messages", "/mailFolders/sentitems/messages"} {
		r := e.do("GET", "/users/"+user+p+"?"+sentFilter(id), nil)
		if r.status != 200 || len(valueOf(r)) != 1 {
			t.Fatalf("after sending, %s: %d %s", p, r.status, r.raw)
		}
	}
	if r := e.do("GET", "/users/"+user+"/mailFolders/inbox/messages?"+sentFilter(id), nil); len(valueOf(r)) != 0 {
		t.Fatalf("found in the inbox: %s", r.raw)
	}
	delete(msg["message"].(map[string]any), "internetMessageId")
	if r := e.do("POST", "/users/"+user+"/sendMail", msg); r.status != 202 {
		t.Fatalf("sendMail: %d", r.status)
	}
	d, _ := e.srv.Dump(user)
	var ids []string
	for _, m := range d.Messages {
		var v string
		m.Field("internetMessageId", &v)
		ids = append(ids, v)
	}
	own := ids[0]
	if len(ids) == 2 && own == id {
		own = ids[1]
	}
	if len(ids) != 2 || own == id || !strings.HasPrefix(own, "<") || !strings.Contains(own, "@") || !strings.HasSuffix(own, ">") {
		t.Fatalf("internetMessageIds in Sent Items: %q", ids)
	}
	if r := e.do("GET", "/users/"+user+"/messages?$filter=internetMessageId%20ne%20'x'", nil); r.status != 400 {
		t.Fatalf("an unsupported filter: %d", r.status)
	}
}

// TestHold_ReleaseWith5xxAfterEffect: a held sendMail has sent the mail;
// ReleaseWith(503) makes its client hear 503 all the same.
func TestHold_ReleaseWith5xxAfterEffect(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	gate := e.srv.Hold(func(r graphemu.HeldRequest) bool { return strings.HasSuffix(r.Path, "/sendMail") })
	answered := make(chan result, 1)
	go func() {
		answered <- e.do("POST", "/users/"+user+"/sendMail", map[string]any{"message": map[string]any{"subject": "s",
			"toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "ops@contoso.test"}}}}})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := gate.Wait(ctx)
	if err != nil || held.Status != 202 {
		t.Fatalf("held %+v %v", held, err)
	}
	gate.ReleaseWith(503)
	r := <-answered
	if r.status != 503 || r.code() != "ServiceUnavailable" {
		t.Fatalf("after ReleaseWith(503): %d %s", r.status, r.raw)
	}
	if n := len(e.srv.Sent()); n != 1 {
		t.Fatalf("%d mails sent, want 1 (the effect stays)", n)
	}
}

func valueOf(r result) []any { v, _ := r.body["value"].([]any); return v }
