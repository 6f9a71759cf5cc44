package graphemu_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// benchEnv calls the emulator's handler in process, without TLS or
// HTTP/2, so that a benchmark measures the emulator's own work.
type benchEnv struct {
	b     *testing.B
	srv   *graphemu.Server
	token string
}

func newBenchEnv(b *testing.B) *benchEnv {
	srv := graphemu.StartForTest(b, graphemu.Options{Mailboxes: []string{user}, Clients: map[string]string{clientID: secret},
		Tenant: tenant, DisableThrottling: true})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {"x/.default"}}
	resp, err := srv.Client().PostForm(srv.TokenURL(tenant), form)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	return &benchEnv{b: b, srv: srv, token: v.AccessToken}
}

// serve sends one request to the handler and fails unless it answers want.
func (e *benchEnv) serve(method, target string, body []byte, want int, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if req.Header.Get("Authorization") == "none" {
		req.Header.Del("Authorization")
	} else {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	if w.Code != want {
		e.b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body.Bytes()[:min(w.Body.Len(), 300)])
	}
	return w
}

func benchCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkServe_Create is the emulator's CPU for a create of a message
// with a 60 KB HTML body, the same with a 1 MB attachment inline, and a
// 5 MB attachment through an upload session (create, session, two PUTs).
func BenchmarkServe_Create(b *testing.B) {
	html := strings.Repeat(`<p class="x">Some text &amp; more text of the message.</p>`+"\r\n", 1000)
	att := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	msg := func(attach bool) []byte {
		m := map[string]any{"subject": "report", "body": map[string]string{"contentType": "html", "content": html},
			"toRecipients":                  []any{map[string]any{"emailAddress": map[string]string{"address": "bob@example.org"}}},
			"singleValueExtendedProperties": []map[string]string{{"id": "Integer 0x0E07", "value": "1"}, {"id": srcKeyID, "value": "k"}}}
		if attach {
			m["attachments"] = []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.bin",
				"contentType": "application/octet-stream", "contentBytes": base64.StdEncoding.EncodeToString(att)}}
		}
		b, _ := json.Marshal(m)
		return b
	}
	create := "/v1.0/users/" + user + "/mailFolders/inbox/messages"
	plain, inline := msg(false), msg(true)
	big := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16)
	for _, tc := range []struct {
		name string
		run  func(e *benchEnv)
	}{
		{"html-60KB", func(e *benchEnv) { e.serve("POST", create, plain, 201) }},
		{"inline-1MB", func(e *benchEnv) { e.serve("POST", create, inline, 201) }},
		{"upload-5MB", func(e *benchEnv) {
			w := e.serve("POST", create, plain, 201)
			var c struct{ ID string }
			_ = json.Unmarshal(w.Body.Bytes(), &c)
			body, _ := json.Marshal(map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "big.bin", "size": len(big)}})
			w = e.serve("POST", "/v1.0/users/"+user+"/messages/"+c.ID+"/attachments/createUploadSession", body, 201)
			var s struct {
				UploadURL string `json:"uploadUrl"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &s)
			u, err := url.Parse(s.UploadURL)
			if err != nil {
				e.b.Fatal(err)
			}
			const chunk = 12 * 320 << 10
			for off := 0; off < len(big); off += chunk {
				end := min(off+chunk, len(big))
				want := http.StatusOK
				if end == len(big) {
					want = http.StatusCreated
				}
				e.serve("PUT", u.RequestURI(), big[off:end], want, "Authorization", "none",
					"Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, end-1, len(big)))
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newBenchEnv(b)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := benchCPU()
			for range b.N {
				tc.run(e)
			}
			b.ReportMetric(float64(benchCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
