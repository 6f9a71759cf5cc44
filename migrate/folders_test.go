package migrate

import (
	"reflect"
	"testing"

	"github.com/imapmig/imapmig/state"
)

func fp(wk string, names ...string) FolderPath { return FolderPath{WellKnown: wk, Names: names} }

func TestMapFolders_SpecialUseLocalizedAndChildren(t *testing.T) {
	folders := []Folder{
		{Path: []string{"INBOX"}},
		{Path: []string{"INBOX", "Projects"}},
		{Path: []string{"Gesendet"}}, // localized, but \Sent is claimed below
		{Path: []string{"Sent Mail"}, SpecialUse: `\Sent`},
		{Path: []string{"Sent Mail", "2019"}},
		{Path: []string{"Entwürfe"}},   // localized Drafts
		{Path: []string{"Papierkorb"}}, // localized Trash
		{Path: []string{"Spam"}, SpecialUse: `\Junk`},
		{Path: []string{"[Gmail]"}, NoSelect: true},
		{Path: []string{"[Gmail]", "All Mail"}, SpecialUse: `\All`},
		{Path: []string{"[Gmail]", "Important"}, SpecialUse: `\Important`},
		{Path: []string{"Kunden/Lieferanten"}}, // '/' kept in a name
		{Path: []string{"  Spaced  "}},
		{Path: []string{"Archive", "2020"}},  // Archive not a folder itself: child keeps names
		{Path: []string{"Projekte", "Sent"}}, // nested "Sent" is not the Sent folder
	}
	plans, excl := mapFolders(folders, state.BatchOptions{MigrateDeletedItems: true})
	got := map[string]FolderPath{}
	for _, p := range plans {
		got[p.Display] = p.Target
	}
	want := map[string]FolderPath{
		"INBOX":              fp("inbox"),
		"INBOX/Projects":     fp("inbox", "Projects"),
		"Gesendet":           fp("", "Gesendet"),
		"Sent Mail":          fp("sentitems"),
		"Sent Mail/2019":     fp("sentitems", "2019"),
		"Entwürfe":           fp("drafts"),
		"Papierkorb":         fp("deleteditems"),
		"Spam":               fp("junkemail"),
		"[Gmail]":            fp("", "[Gmail]"),
		"Kunden/Lieferanten": fp("", "Kunden/Lieferanten"),
		"  Spaced  ":         fp("", "Spaced"),
		"Archive/2020":       fp("", "Archive", "2020"),
		"Projekte/Sent":      fp("", "Projekte", "Sent"),
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%q → %+v, want %+v", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected plan for %q", k)
			}
		}
	}
	if len(excl) != 2 || excl[0].Display != "[Gmail]/All Mail" || excl[1].Display != "[Gmail]/Important" {
		t.Errorf("exclusions = %+v", excl)
	}
	for _, p := range plans {
		if p.Draft != (p.Display == "Entwürfe") {
			t.Errorf("%s: Draft = %v", p.Display, p.Draft)
		}
	}
}

func TestMapFolders_FiltersAndDeletedItems(t *testing.T) {
	folders := []Folder{
		{Path: []string{"INBOX"}}, {Path: []string{"Trash"}, SpecialUse: `\Trash`}, {Path: []string{"Trash", "Old"}},
		{Path: []string{"Lists"}}, {Path: []string{"Lists", "go-nuts"}}, {Path: []string{"Work"}},
	}
	cases := []struct {
		name string
		opts state.BatchOptions
		keep []string
	}{
		{"NoDeletedItems", state.BatchOptions{}, []string{"INBOX", "Lists", "Lists/go-nuts", "Work"}},
		{"ExcludeWithChildren", state.BatchOptions{MigrateDeletedItems: true, ExcludeFolders: []string{"lists"}}, []string{"INBOX", "Trash", "Trash/Old", "Work"}},
		{"Glob", state.BatchOptions{MigrateDeletedItems: true, ExcludeFolders: []string{"Lists/*"}}, []string{"INBOX", "Trash", "Trash/Old", "Lists", "Work"}},
		{"Include", state.BatchOptions{MigrateDeletedItems: true, IncludeFolders: []string{"INBOX", "Work"}}, []string{"INBOX", "Work"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plans, _ := mapFolders(folders, tc.opts)
			var got []string
			for _, p := range plans {
				got = append(got, p.Display)
			}
			if !reflect.DeepEqual(got, tc.keep) {
				t.Fatalf("kept %q, want %q", got, tc.keep)
			}
		})
	}
}
