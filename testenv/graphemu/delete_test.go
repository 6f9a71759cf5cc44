package graphemu_test

import (
	"testing"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// dumpFolder is the well-known name (or path) of the folder holding the
// item id, "" when the item is gone.
func dumpFolder(t *testing.T, srv *graphemu.Server, id string) string {
	t.Helper()
	d, _ := srv.Dump(user)
	for _, m := range d.Messages {
		if m.ID == id {
			if m.FolderWellKnown != "" {
				return m.FolderWellKnown
			}
			return m.FolderPath
		}
	}
	return ""
}

// A soft DELETE moves an item to Deleted Items, where the user sees it,
// keeping its immutable id; a DELETE there takes it to Recoverable Items
// (gone for clients). permanentDelete skips Deleted Items.
func TestDelete_SoftMovesToDeletedItems(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user
	c := e.do("POST", base+"/mailFolders/inbox/messages", map[string]any{"subject": "d"}, "Prefer", immutable)
	id := c.str("id")
	if r := e.do("DELETE", base+"/messages/"+id, nil, "Prefer", immutable); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if f := dumpFolder(t, e.srv, id); f != "deleteditems" {
		t.Fatalf("after a soft DELETE the item is in %q, want deleteditems", f)
	}
	if r := e.do("GET", base+"/mailFolders/deleteditems/messages", nil, "Prefer", immutable); len(r.body["value"].([]any)) != 1 {
		t.Fatalf("Deleted Items lists %s", r.raw)
	}
	if r := e.do("DELETE", base+"/messages/"+id, nil, "Prefer", immutable); r.status != 204 {
		t.Fatalf("delete in Deleted Items: %d", r.status)
	}
	if f := dumpFolder(t, e.srv, id); f != "" {
		t.Fatalf("deleted from Deleted Items but still in %q", f)
	}
	if r := e.do("DELETE", base+"/messages/"+id, nil, "Prefer", immutable); r.status != 404 || r.code() != "ErrorItemNotFound" {
		t.Fatalf("third delete: %d %s", r.status, r.raw)
	}
	p := e.do("POST", base+"/mailFolders/inbox/messages", map[string]any{"subject": "p"}, "Prefer", immutable)
	if r := e.do("POST", base+"/messages/"+p.str("id")+"/permanentDelete", nil); r.status != 204 {
		t.Fatalf("permanentDelete: %d", r.status)
	}
	d, _ := e.srv.Dump(user)
	if len(d.Messages) != 0 || d.Purged != 1 || d.Deletions != 1 {
		t.Fatalf("messages %d, purged %d, deletions %d; want 0, 1, 1", len(d.Messages), d.Purged, d.Deletions)
	}
}

// A folder created with isHidden is listed only with includeHiddenFolders;
// its items can be moved out keeping their immutable id.
func TestFolders_Hidden(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user
	h := e.do("POST", base+"/mailFolders", map[string]any{"displayName": "Staging", "isHidden": true})
	if h.status != 201 || h.body["isHidden"] != true {
		t.Fatalf("create hidden: %d %s", h.status, h.raw)
	}
	names := func(q string) map[string]bool {
		r := e.do("GET", base+"/mailFolders"+q, nil)
		out := map[string]bool{}
		for _, v := range r.body["value"].([]any) {
			out[v.(map[string]any)["displayName"].(string)] = true
		}
		return out
	}
	if names("?$top=100")["Staging"] {
		t.Fatal("a hidden folder is listed without includeHiddenFolders")
	}
	if !names("?$top=100&includeHiddenFolders=true")["Staging"] {
		t.Fatal("a hidden folder is not listed with includeHiddenFolders=true")
	}
	if !names("?$filter=displayName%20eq%20'Staging'&includeHiddenFolders=true")["Staging"] {
		t.Fatal("a hidden folder is not found by name with includeHiddenFolders=true")
	}
	if r := e.do("POST", base+"/mailFolders", map[string]any{"displayName": "staging"}); r.status != 409 {
		t.Fatalf("a visible folder named like a hidden sibling: %d, want 409", r.status)
	}
	c := e.do("POST", base+"/mailFolders/"+h.str("id")+"/messages", map[string]any{"subject": "s"}, "Prefer", immutable)
	if d, _ := e.srv.Dump(user); len(d.Messages) != 1 || !d.Messages[0].Hidden {
		t.Fatalf("an item in a hidden folder is not marked hidden: %+v", d.Messages)
	}
	mv := e.do("POST", base+"/messages/"+c.str("id")+"/move", map[string]string{"destinationId": "inbox"}, "Prefer", immutable)
	if mv.status != 201 || mv.str("id") != c.str("id") {
		t.Fatalf("move out of the hidden folder: %d %s", mv.status, mv.raw)
	}
	if d, _ := e.srv.Dump(user); d.Messages[0].Hidden || d.Messages[0].FolderWellKnown != "inbox" {
		t.Fatalf("after the move: %+v", d.Messages[0])
	}
}

// DELETE on a folder moves it with its items into Deleted Items;
// permanentDelete (or a DELETE inside Deleted Items) removes it and its
// items; well-known folders cannot be deleted.
func TestFolders_Delete(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	base := "/users/" + user
	f := e.do("POST", base+"/mailFolders", map[string]any{"displayName": "Old"})
	sub := e.do("POST", base+"/mailFolders/"+f.str("id")+"/childFolders", map[string]any{"displayName": "Sub"})
	c := e.do("POST", base+"/mailFolders/"+sub.str("id")+"/messages", map[string]any{"subject": "x"}, "Prefer", immutable)
	if r := e.do("DELETE", base+"/mailFolders/inbox", nil); r.status != 400 {
		t.Fatalf("delete inbox: %d", r.status)
	}
	if r := e.do("DELETE", base+"/mailFolders/"+f.str("id"), nil); r.status != 204 {
		t.Fatalf("delete folder: %d %s", r.status, r.raw)
	}
	if p := dumpFolder(t, e.srv, c.str("id")); p != "Deleted Items/Old/Sub" {
		t.Fatalf("after a soft folder delete the item is in %q", p)
	}
	if r := e.do("POST", base+"/mailFolders/"+f.str("id")+"/permanentDelete", nil); r.status != 204 {
		t.Fatalf("permanentDelete folder: %d %s", r.status, r.raw)
	}
	if p := dumpFolder(t, e.srv, c.str("id")); p != "" {
		t.Fatalf("after permanentDelete the item is in %q", p)
	}
	for _, id := range []string{f.str("id"), sub.str("id")} {
		if r := e.do("GET", base+"/mailFolders/"+id, nil); r.status != 404 {
			t.Fatalf("GET a removed folder: %d", r.status)
		}
		if r := e.do("POST", base+"/mailFolders/"+id+"/messages", map[string]any{"subject": "y"}); r.status != 404 {
			t.Fatalf("create into a removed folder: %d", r.status)
		}
	}
	if d, _ := e.srv.Dump(user); d.Purged != 1 {
		t.Fatalf("purged %d, want 1", d.Purged)
	}
}
