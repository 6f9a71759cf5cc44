package graphemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

const (
	user     = "alice@contoso.test"
	tenant   = "11111111-2222-3333-4444-555555555555"
	clientID = "app-1"
	secret   = "s3cret-value"
	srcKeyID = "String {8ad1c3e0-8c3b-4f55-9a57-6b0b9f2a1f01} Name SourceKey"
)

type env struct {
	t     *testing.T
	srv   *graphemu.Server
	hc    *http.Client
	token string
}

func newEnv(t *testing.T, opts graphemu.Options) *env {
	t.Helper()
	if opts.Mailboxes == nil {
		opts.Mailboxes = []string{user}
	}
	if opts.Clients == nil {
		opts.Clients = map[string]string{clientID: secret}
	}
	opts.Tenant = tenant
	srv := graphemu.StartForTest(t, opts)
	e := &env{t: t, srv: srv, hc: srv.Client()}
	e.token = e.getToken(clientID, secret)
	return e
}

func (e *env) getToken(id, sec string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}, "scope": {"x/.default"}}
	resp, err := e.hc.PostForm(e.srv.TokenURL(tenant), form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != 200 {
		return ""
	}
	return v.AccessToken
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r result) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

// do sends a Graph request; path is relative to /v1.0 unless absolute.
func (e *env) do(method, path string, body any, hdr ...string) result {
	e.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
		ct = "text/plain"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "https://") {
		u = e.srv.GraphURL() + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

const immutable = `IdType="ImmutableId"`

func nonDraft(extra ...map[string]string) []map[string]string {
	p := []map[string]string{{"id": "Integer 0x0E07", "value": "1"}}
	return append(p, extra...)
}

func TestToken_Azidentity(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	opts := &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: e.srv.AuthorityHost()}, Transport: e.hc},
		DisableInstanceDiscovery: true,
	}
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.srv.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok.Token
	if r := e.do("GET", "/users/"+user, nil); r.status != 200 || r.str("userPrincipalName") != user {
		t.Fatalf("GET user with azidentity token: %d %s", r.status, r.raw)
	}
	bad, _ := azidentity.NewClientSecretCredential(tenant, clientID, "wrong", opts)
	if _, err := bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.srv.URL() + "/.default"}}); err == nil {
		t.Fatal("wrong secret got a token")
	}
}

func TestAuth_Table(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"NoToken", "", 401},
		{"ForgedToken", "emu.deadbeef", 401},
		{"ValidToken", e.token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e2 := *e
			e2.t, e2.token = t, tt.token
			r := e2.do("GET", "/users/"+user+"/mailFolders/inbox", nil)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.raw)
			}
			if tt.want == 401 && r.code() != "InvalidAuthenticationToken" {
				t.Fatalf("code %q", r.code())
			}
		})
	}
	if tok := e.getToken(clientID, "wrong"); tok != "" {
		t.Fatal("token for a wrong secret")
	}
	if tok := e.getToken("unknown-app", secret); tok != "" {
		t.Fatal("token for an unknown client")
	}
}

func TestUsers_Get(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	tests := []struct {
		name, upn string
		want      int
		code      string
	}{
		{"Known", user, 200, ""},
		{"CaseInsensitive", strings.ToUpper(user), 200, ""},
		{"Unknown", "bob@contoso.test", 404, "Request_ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("GET", "/users/"+url.PathEscape(tt.upn), nil)
			if r.status != tt.want || r.code() != tt.code {
				t.Fatalf("got %d %q, want %d %q", r.status, r.code(), tt.want, tt.code)
			}
		})
	}
	e.t = t
	if r := e.do("GET", "/users/bob@contoso.test/mailFolders/inbox/messages", nil); r.status != 404 {
		t.Fatalf("mail of unknown mailbox: %d", r.status)
	}
}

func TestFolders_WellKnownChildAndExists(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user
	inbox := e.do("GET", base+"/mailFolders/inbox", nil)
	if inbox.status != 200 || inbox.str("displayName") != "Inbox" {
		t.Fatalf("inbox: %d %s", inbox.status, inbox.raw)
	}
	for _, wk := range []string{"sentitems", "drafts", "deleteditems", "junkemail", "archive", "msgfolderroot"} {
		if r := e.do("GET", base+"/mailFolders/"+wk, nil); r.status != 200 {
			t.Fatalf("%s: %d", wk, r.status)
		}
	}
	c := e.do("POST", base+"/mailFolders/inbox/childFolders", map[string]string{"displayName": "Projects"})
	if c.status != 201 || c.str("parentFolderId") != inbox.str("id") {
		t.Fatalf("create child: %d %s", c.status, c.raw)
	}
	dup := e.do("POST", base+"/mailFolders/"+inbox.str("id")+"/childFolders", map[string]string{"displayName": "projects"})
	if dup.status != 409 || dup.code() != "ErrorFolderExists" {
		t.Fatalf("duplicate sibling: %d %s", dup.status, dup.raw)
	}
	// the same name elsewhere is fine
	if r := e.do("POST", base+"/mailFolders", map[string]string{"displayName": "Projects"}); r.status != 201 {
		t.Fatalf("top-level Projects: %d %s", r.status, r.raw)
	}
	l := e.do("GET", base+"/mailFolders/inbox/childFolders?$filter="+url.QueryEscape("displayName eq 'Projects'"), nil)
	v, _ := l.body["value"].([]any)
	if l.status != 200 || len(v) != 1 || v[0].(map[string]any)["id"] != c.str("id") {
		t.Fatalf("lookup by name: %d %s", l.status, l.raw)
	}
	if r := e.do("POST", base+"/mailFolders", map[string]string{"displayName": ""}); r.status != 400 {
		t.Fatalf("empty name: %d", r.status)
	}
}

func TestCreate_JSONRules(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	recv := "2019-03-04T05:06:07Z"
	tests := []struct {
		name       string
		msg        map[string]any
		folder     string
		wantStatus int
		wantCode   string
		wantDraft  bool
		wantRead   bool
		wantRecv   string
		wantFolder string
	}{
		{"DefaultIsDraftInDrafts", map[string]any{"subject": "a"}, "", 201, "", true, false, "", "drafts"},
		{"FlagsWithoutUnsentBit", map[string]any{"subject": "b", "singleValueExtendedProperties": nonDraft(map[string]string{"id": "SystemTime 0x0E06", "value": recv})}, "inbox", 201, "", false, true, recv, "inbox"},
		{"FlagsWithUnsentBit", map[string]any{"subject": "c", "singleValueExtendedProperties": []map[string]string{{"id": "Integer 0x0E07", "value": "8"}}}, "inbox", 201, "", true, false, "", "inbox"},
		{"UnreadNonDraft", map[string]any{"subject": "d", "isRead": false, "singleValueExtendedProperties": []map[string]string{{"id": "Integer 0x0E07", "value": "0"}}}, "inbox", 201, "", false, false, "", "inbox"},
		{"XHeaderAccepted", map[string]any{"subject": "e", "internetMessageHeaders": []map[string]string{{"name": "X-Original", "value": "1"}}}, "inbox", 201, "", true, false, "", "inbox"},
		{"NonXHeaderRejected", map[string]any{"subject": "f", "internetMessageHeaders": []map[string]string{{"name": "Received", "value": "from x"}}}, "inbox", 400, "InvalidInternetMessageHeader", false, false, "", ""},
		{"UnknownPropertyRejected", map[string]any{"subjekt": "g"}, "inbox", 400, "RequestBodyRead", false, false, "", ""},
		{"BadIntegerProperty", map[string]any{"singleValueExtendedProperties": []map[string]string{{"id": "Integer 0x0E07", "value": "x"}}}, "inbox", 400, "ErrorInvalidExtendedPropertyValue", false, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			p := "/users/" + user + "/messages"
			if tt.folder != "" {
				p = "/users/" + user + "/mailFolders/" + tt.folder + "/messages"
			}
			r := e.do("POST", p, tt.msg, "Prefer", immutable)
			if r.status != tt.wantStatus || r.code() != tt.wantCode {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.code(), tt.wantStatus, tt.wantCode, r.raw)
			}
			if r.status != 201 {
				return
			}
			if r.body["isDraft"] != tt.wantDraft || r.body["isRead"] != tt.wantRead {
				t.Fatalf("isDraft=%v isRead=%v, want %v %v", r.body["isDraft"], r.body["isRead"], tt.wantDraft, tt.wantRead)
			}
			if tt.wantRecv != "" && r.str("receivedDateTime") != tt.wantRecv {
				t.Fatalf("receivedDateTime %q, want %q", r.str("receivedDateTime"), tt.wantRecv)
			}
			f := e.do("GET", "/users/"+user+"/mailFolders/"+tt.wantFolder, nil)
			if r.str("parentFolderId") != f.str("id") {
				t.Fatalf("created in %s, want %s", r.str("parentFolderId"), tt.wantFolder)
			}
			d, _ := e.srv.Dump(user)
			for _, m := range d.Messages {
				if m.ID == r.str("id") {
					wants, _ := tt.msg["singleValueExtendedProperties"].([]map[string]string)
					for _, want := range wants {
						if v, ok := m.Ext(want["id"]); !ok || v != want["value"] {
							t.Fatalf("extended property %s = %q (%v), want verbatim %q", want["id"], v, ok, want["value"])
						}
					}
					return
				}
			}
			if tt.msg["singleValueExtendedProperties"] != nil {
				t.Fatal("message not in dump")
			}
		})
	}
}

func TestCreate_MIME(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	mime := "From: a@b.test\r\nTo: c@d.test\r\nSubject: mime\r\nDate: Mon, 04 Mar 2019 05:06:07 +0000\r\nMessage-ID: <x@y>\r\n\r\nhello\r\n"
	b64 := base64.StdEncoding.EncodeToString([]byte(mime))
	tests := []struct {
		name, path, body string
		want             int
		code             string
	}{
		{"ToMessagesIsDraft", "/users/" + user + "/messages", b64, 201, ""},
		{"ToFolderFails", "/users/" + user + "/mailFolders/inbox/messages", b64, 400, "UnableToDeserializePostBody"},
		{"BadBase64", "/users/" + user + "/messages", "!!not base64!!", 400, "ErrorMimeContentInvalidBase64String"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", tt.path, tt.body)
			if r.status != tt.want || r.code() != tt.code {
				t.Fatalf("got %d %q: %s", r.status, r.code(), r.raw)
			}
			if r.status == 201 {
				drafts := e.do("GET", "/users/"+user+"/mailFolders/drafts", nil)
				if r.body["isDraft"] != true || r.str("parentFolderId") != drafts.str("id") || r.str("subject") != "mime" {
					t.Fatalf("MIME create: %s", r.raw)
				}
				if strings.HasPrefix(r.str("receivedDateTime"), "2019") {
					t.Fatal("MIME create kept the original received date; Graph uses the import time")
				}
			}
		})
	}
}

func TestCreate_TooLarge(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	big := strings.Repeat("a", 4<<20)
	r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "x", "body": map[string]string{"contentType": "text", "content": big}})
	if r.status != 413 {
		t.Fatalf("status %d, want 413", r.status)
	}
	if r.code() == "" {
		t.Fatalf("413 without a Graph error body: %s", r.raw)
	}
}

func TestList_PagingSelectFilterExpand(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user + "/mailFolders/inbox/messages"
	for i := range 25 {
		r := e.do("POST", base, map[string]any{"subject": fmt.Sprint("m", i), "singleValueExtendedProperties": nonDraft(map[string]string{"id": srcKeyID, "value": fmt.Sprint("key-", i)})}, "Prefer", immutable)
		if r.status != 201 {
			t.Fatal(r.status, string(r.raw))
		}
	}
	expand := "singleValueExtendedProperties($filter=id eq '" + srcKeyID + "')"
	next := base + "?$top=10&$select=id&$expand=" + url.QueryEscape(expand)
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		r := e.do("GET", next, nil, "Prefer", immutable)
		if r.status != 200 {
			t.Fatalf("page: %d %s", r.status, r.raw)
		}
		pages++
		for _, it := range r.body["value"].([]any) {
			m := it.(map[string]any)
			if _, ok := m["subject"]; ok {
				t.Fatal("$select=id returned subject")
			}
			props := m["singleValueExtendedProperties"].([]any)
			seen[props[0].(map[string]any)["value"].(string)] = true
		}
		next, _ = r.body["@odata.nextLink"].(string)
	}
	if pages != 3 || len(seen) != 25 {
		t.Fatalf("pages=%d keys=%d, want 3 and 25", pages, len(seen))
	}
	filter := "singleValueExtendedProperties/Any(ep: ep/id eq '" + srcKeyID + "' and ep/value eq 'KEY-7')"
	r := e.do("GET", base+"?$filter="+url.QueryEscape(filter), nil)
	v := r.body["value"].([]any)
	if r.status != 200 || len(v) != 1 || v[0].(map[string]any)["subject"] != "m7" {
		t.Fatalf("filter (value compare is case-insensitive): %d %s", r.status, r.raw)
	}
	if r := e.do("GET", base+"?$filter="+url.QueryEscape("subject eq 'x' or 1 eq 1"), nil); r.status != 400 {
		t.Fatalf("unsupported filter: %d", r.status)
	}
	// Name part of the id is case-sensitive.
	r = e.do("GET", base+"?$filter="+url.QueryEscape(strings.Replace(filter, "SourceKey", "sourcekey", 1)), nil)
	if v := r.body["value"].([]any); len(v) != 0 {
		t.Fatal("Name matched case-insensitively")
	}
}

func TestPatch_FlagsAndWriteOnce(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	c := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "p", "singleValueExtendedProperties": nonDraft()}, "Prefer", immutable)
	p := "/users/" + user + "/messages/" + c.str("id")
	tests := []struct {
		name string
		body map[string]any
		want int
		code string
	}{
		{"Read", map[string]any{"isRead": false}, 200, ""},
		{"Flag", map[string]any{"flag": map[string]string{"flagStatus": "flagged"}}, 200, ""},
		{"BadFlag", map[string]any{"flag": map[string]string{"flagStatus": "red"}}, 400, "RequestBodyRead"},
		{"Categories", map[string]any{"categories": []string{"$label1", "Work"}}, 200, ""},
		{"MessageFlagsWriteOnce", map[string]any{"singleValueExtendedProperties": []map[string]string{{"id": "Integer 0x0E07", "value": "9"}}}, 400, "ErrorInvalidPropertyUpdateSentMessage"},
		{"SubjectOfSentItem", map[string]any{"subject": "changed"}, 400, "ErrorInvalidPropertyUpdateSentMessage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("PATCH", p, tt.body, "Prefer", immutable)
			if r.status != tt.want || r.code() != tt.code {
				t.Fatalf("got %d %q: %s", r.status, r.code(), r.raw)
			}
		})
	}
	d, _ := e.srv.Dump(user)
	m := d.Messages[0]
	if m.IsRead || m.FlagStatus != "flagged" || strings.Join(m.Categories, ",") != "$label1,Work" || m.IsDraft {
		t.Fatalf("after patches: %+v", m)
	}
}

func TestMove_Ids(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	arch := e.do("POST", "/users/"+user+"/mailFolders", map[string]string{"displayName": "Old"})
	tests := []struct {
		name      string
		prefer    string
		wantSame  bool
		oldIDGone bool
	}{
		{"ImmutableIdKept", immutable, true, false},
		{"RegularIdChanges", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			c := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "mv"}, "Prefer", tt.prefer)
			mv := e.do("POST", "/users/"+user+"/messages/"+c.str("id")+"/move", map[string]string{"destinationId": arch.str("id")}, "Prefer", tt.prefer)
			if mv.status != 201 || mv.str("parentFolderId") != arch.str("id") {
				t.Fatalf("move: %d %s", mv.status, mv.raw)
			}
			if (mv.str("id") == c.str("id")) != tt.wantSame {
				t.Fatalf("id %s → %s", c.str("id"), mv.str("id"))
			}
			old := e.do("GET", "/users/"+user+"/messages/"+c.str("id"), nil, "Prefer", tt.prefer)
			if (old.status == 404) != tt.oldIDGone {
				t.Fatalf("GET old id: %d", old.status)
			}
		})
	}
}

func TestUpload_Session(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	c := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "big", "singleValueExtendedProperties": nonDraft()}, "Prefer", immutable)
	att := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16+7)
	sum := sha256.Sum256(att)
	if r := e.do("POST", "/users/"+user+"/messages/"+c.str("id")+"/attachments/createUploadSession", map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "huge.bin", "size": 151 << 20}}); r.status != 400 {
		t.Fatalf("upload session over 150 MB: %d", r.status)
	}
	s := e.do("POST", "/users/"+user+"/messages/"+c.str("id")+"/attachments/createUploadSession", map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "big.bin", "size": len(att), "contentType": "application/octet-stream"}})
	if s.status != 201 {
		t.Fatalf("createUploadSession: %d %s", s.status, s.raw)
	}
	up := s.str("uploadUrl")
	if strings.HasPrefix(up, e.srv.URL()) {
		t.Fatalf("upload URL %s is on the Graph host", up)
	}
	put := func(from, to int, auth bool) result {
		hdr := []string{"Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to-1, len(att))}
		if !auth {
			hdr = append(hdr, "Authorization", "")
		}
		return e.do("PUT", up, att[from:to], hdr...)
	}
	if r := put(0, 1<<20, true); r.status != 401 {
		t.Fatalf("PUT with Authorization: %d, want 401", r.status)
	}
	if r := put(0, 5<<20, false); r.status != 413 {
		t.Fatalf("5 MB PUT: %d, want 413", r.status)
	}
	if r := put(1<<20, 2<<20, false); r.status != 416 {
		t.Fatalf("out-of-order PUT: %d, want 416", r.status)
	}
	const chunk = 4 << 20
	for off := 0; off < len(att); off += chunk {
		end := min(off+chunk, len(att))
		r := put(off, end, false)
		want := 200
		if end == len(att) {
			want = 201
		}
		if r.status != want {
			t.Fatalf("PUT %d-%d: %d %s", off, end, r.status, r.raw)
		}
		if want == 201 && r.header.Get("Location") == "" {
			t.Fatal("final PUT without Location")
		}
	}
	d, _ := e.srv.Dump(user)
	a := d.Messages[0].Attachments
	if len(a) != 1 || a[0].SHA256 != hex.EncodeToString(sum[:]) || a[0].Name != "big.bin" {
		t.Fatalf("attachments: %+v", a)
	}
}

func TestThrottle_Table(t *testing.T) {
	tests := []struct {
		name   string
		limits graphemu.Limits
		run    func(e *env) (throttled int)
	}{
		{"RequestRate", graphemu.Limits{Requests: 20, RequestWindow: time.Minute}, func(e *env) int {
			n := 0
			for range 30 {
				r := e.do("GET", "/users/"+user+"/mailFolders/inbox", nil)
				if r.status == 429 {
					if r.header.Get("Retry-After") == "" || r.code() != "ApplicationThrottled" {
						e.t.Fatalf("429 without Retry-After or code: %v %s", r.header, r.raw)
					}
					n++
				}
			}
			return n
		}},
		{"UploadBytes", graphemu.Limits{UploadBytes: 3 << 20, UploadWindow: time.Minute}, func(e *env) int {
			n := 0
			body := strings.Repeat("x", 1<<20)
			for range 5 {
				r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "u", "body": map[string]string{"contentType": "text", "content": body}})
				if r.status == 429 {
					n++
				}
			}
			return n
		}},
		{"Concurrency", graphemu.Limits{}, func(e *env) int {
			var mu sync.Mutex
			n := 0
			var wg sync.WaitGroup
			body := strings.Repeat("x", 2<<20)
			for range 16 {
				wg.Go(func() {
					r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "c", "body": map[string]string{"contentType": "text", "content": body}})
					if r.status == 429 {
						mu.Lock()
						n++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			return n
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := graphemu.Options{Limits: tt.limits}
			if tt.name == "Concurrency" {
				opts.Latency = 100 * time.Millisecond // Exchange's processing time
			}
			e := newEnv(t, opts)
			start := time.Now()
			n := tt.run(e)
			t.Logf("%s took %v", tt.name, time.Since(start))
			st := e.srv.Stats()
			if n == 0 || st.Throttled != int64(n) {
				t.Fatalf("throttled %d (stats %+v)", n, st)
			}
			if tt.name == "RequestRate" && (n != 10 || st.Requests != 30) {
				t.Fatalf("throttled %d of 30 with a limit of 20 (stats %+v)", n, st)
			}
			if tt.name == "UploadBytes" && n != 3 {
				t.Fatalf("throttled %d of 5 one-MB creates with a 3 MB budget", n)
			}
		})
	}
}

func TestThrottle_CountsThrottledAndTimeScale(t *testing.T) {
	// 10 requests per 60 s at 60x: a 1-second window.
	e := newEnv(t, graphemu.Options{Limits: graphemu.Limits{Requests: 10, RequestWindow: time.Minute}, TimeScale: 60})
	var last result
	for range 12 {
		last = e.do("GET", "/users/"+user+"/mailFolders/inbox", nil)
	}
	answered := time.Now()
	if st := e.srv.Stats(); st.Throttled != 2 {
		t.Fatalf("throttled %d, want 2", st.Throttled)
	}
	// Wait as a client must: until the time the last 429's Retry-After
	// names (whole seconds, covering the scaled 1-second window).
	ra, err := strconv.Atoi(last.header.Get("Retry-After"))
	if last.status != 429 || err != nil || ra < 1 || ra > 60 {
		t.Fatalf("last answer %d with Retry-After %q, want 429 and a few seconds", last.status, last.header.Get("Retry-After"))
	}
	for until := answered.Add(time.Duration(ra) * time.Second); time.Now().Before(until); {
		time.Sleep(time.Until(until))
	}
	if r := e.do("GET", "/users/"+user+"/mailFolders/inbox", nil); r.status != 200 {
		t.Fatalf("after the scaled window: %d", r.status)
	}
}

func TestFaults_Table(t *testing.T) {
	tests := []struct {
		name                string
		fault, ambiguous    float64
		wantMin, wantMax    int // messages created of 200 attempts
		wantStatusAllFailed bool
	}{
		{"PlainFaultsHaveNoEffect", 1, 0, 0, 0, true},
		{"AmbiguousCreatesTakeEffect", 0, 1, 200, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, graphemu.Options{FaultRate: tt.fault, AmbiguousRate: tt.ambiguous, Seed: 7, DisableThrottling: true})
			failed := 0
			for range 200 {
				r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "f"})
				if r.status == 503 || r.status == 504 {
					failed++
				}
			}
			d, _ := e.srv.Dump(user)
			if len(d.Messages) < tt.wantMin || len(d.Messages) > tt.wantMax || failed != 200 {
				t.Fatalf("messages=%d failed=%d", len(d.Messages), failed)
			}
		})
	}
}

func TestSendMail_Log(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	msg := map[string]any{"message": map[string]any{"subject": "report", "body": map[string]string{"contentType": "html", "content": "<p>hi</p>"}, "toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": "ops@contoso.test"}}}}}
	if r := e.do("POST", "/users/"+user+"/sendMail", msg); r.status != 202 {
		t.Fatalf("sendMail: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/users/"+user+"/sendMail", map[string]any{"message": map[string]any{"subject": "x"}}); r.status != 400 {
		t.Fatalf("sendMail without recipients: %d", r.status)
	}
	if s := e.srv.Sent(); len(s) != 1 || !strings.Contains(string(s[0].Message), "report") {
		t.Fatalf("sent log: %+v", s)
	}
}

func TestBatch_Table(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	c := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "b", "singleValueExtendedProperties": nonDraft()}, "Prefer", immutable)
	mk := func(n int) map[string]any {
		var reqs []map[string]any
		for i := range n {
			reqs = append(reqs, map[string]any{"id": fmt.Sprint(i + 1), "method": "PATCH", "url": "/users/" + user + "/messages/" + c.str("id"), "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"isRead": i%2 == 0}})
		}
		return map[string]any{"requests": reqs}
	}
	tests := []struct {
		name string
		n    int
		want int
	}{{"Twenty", 20, 200}, {"TwentyOne", 21, 400}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/$batch", mk(tt.n), "Prefer", immutable)
			if r.status != tt.want {
				t.Fatalf("batch of %d: %d %s", tt.n, r.status, r.raw)
			}
			if r.status == 200 {
				resps := r.body["responses"].([]any)
				if len(resps) != tt.n || resps[0].(map[string]any)["status"].(float64) != 200 {
					t.Fatalf("responses: %s", r.raw)
				}
			}
		})
	}
}

func TestInspect_HTTP(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "i", "singleValueExtendedProperties": nonDraft(map[string]string{"id": srcKeyID, "value": "k1"})})
	resp, err := e.hc.Get(e.srv.URL() + "/_emu/mailboxes/" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d graphemu.MailboxDump
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if len(d.Messages) != 1 || d.Messages[0].Subject != "i" || d.Messages[0].FolderWellKnown != "inbox" {
		t.Fatalf("dump: %+v", d)
	}
	if v, _ := d.Messages[0].Ext(srcKeyID); v != "k1" {
		t.Fatalf("source key in dump: %q", v)
	}
}

func TestFolders_RenameAndMove(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user
	a := e.do("POST", base+"/mailFolders", map[string]string{"displayName": "Alpha"})
	b := e.do("POST", base+"/mailFolders", map[string]string{"displayName": "Beta"})
	if a.status != 201 || b.status != 201 {
		t.Fatalf("create: %d %d", a.status, b.status)
	}
	if r := e.do("PATCH", base+"/mailFolders/"+a.str("id"), map[string]string{"displayName": "beta"}); r.status != 409 || r.code() != "ErrorFolderExists" {
		t.Fatalf("rename onto a sibling: %d %s", r.status, r.raw)
	}
	if r := e.do("PATCH", base+"/mailFolders/inbox", map[string]string{"displayName": "Posteingang"}); r.status != 400 {
		t.Fatalf("rename a well-known folder: %d", r.status)
	}
	r := e.do("PATCH", base+"/mailFolders/"+a.str("id"), map[string]string{"displayName": "Gamma"})
	if r.status != 200 || r.str("displayName") != "Gamma" || r.str("id") != a.str("id") {
		t.Fatalf("rename: %d %s", r.status, r.raw)
	}
	m := e.do("POST", base+"/mailFolders/"+a.str("id")+"/move", map[string]string{"destinationId": b.str("id")})
	if m.status != 201 || m.str("parentFolderId") != b.str("id") || m.str("id") != a.str("id") {
		t.Fatalf("move: %d %s", m.status, m.raw)
	}
	if r := e.do("POST", base+"/mailFolders/"+b.str("id")+"/move", map[string]string{"destinationId": a.str("id")}); r.status != 400 {
		t.Fatalf("move into its own child: %d %s", r.status, r.raw)
	}
}
