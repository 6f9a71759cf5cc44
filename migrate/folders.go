package migrate

import (
	"path"
	"strings"

	"github.com/imapmig/imapmig/state"
)

// folderPlan is where one source folder goes.
type folderPlan struct {
	Src     Folder
	Target  FolderPath
	Display string // the source path joined with "/", for reports and filters
	Draft   bool   // messages stay drafts (the source's Drafts folder)
}

// folderExclusion is a source folder left out, with the reason.
type folderExclusion struct {
	Name    string // the source folder's name
	Display string
	Reason  string
}

var specialUseTarget = map[string]string{
	`\Sent`:    WellKnownSentItems,
	`\Drafts`:  WellKnownDrafts,
	`\Trash`:   WellKnownDeletedItems,
	`\Junk`:    WellKnownJunkEmail,
	`\Archive`: WellKnownArchive,
}

// localizedTarget maps well-known folder names of common servers and
// languages (lower case) to Graph's well-known folders. Used only for
// top-level folders and only when no folder claimed the target by its
// SPECIAL-USE attribute.
var localizedTarget = map[string]string{}

func init() {
	for target, names := range map[string][]string{
		WellKnownSentItems: {"sent", "sent items", "sent messages", "sent mail", "sent-mail", "gesendet", "gesendete objekte",
			"gesendete elemente", "gesendete nachrichten", "envoyés", "éléments envoyés", "messages envoyés", "enviados",
			"elementos enviados", "posta inviata", "inviati", "verzonden", "verzonden items", "skickat", "skickade objekt", "wysłane"},
		WellKnownDrafts: {"drafts", "draft", "entwürfe", "brouillons", "borradores", "bozze", "concepten", "utkast", "kopie robocze"},
		WellKnownDeletedItems: {"trash", "deleted items", "deleted messages", "deleted", "bin", "papierkorb", "gelöschte elemente",
			"gelöschte objekte", "corbeille", "éléments supprimés", "papelera", "elementos eliminados", "cestino",
			"posta eliminata", "prullenbak", "verwijderde items", "papperskorgen", "borttagna objekt", "kosz"},
		WellKnownJunkEmail: {"junk", "spam", "junk e-mail", "junk email", "junk-e-mail", "junk mail", "bulk mail",
			"courrier indésirable", "correo no deseado", "posta indesiderata", "ongewenste e-mail", "skräppost"},
		WellKnownArchive: {"archive", "archives", "archiv", "archivio", "archivo", "archief", "arkiv"},
	} {
		for _, n := range names {
			localizedTarget[n] = target
		}
	}
}

// virtualSpecialUse are special-use attributes of views onto other folders
// (Gmail's All Mail, Starred and Important; RFC 6154 and RFC 8457): copying
// them would copy messages twice.
var virtualSpecialUse = map[string]bool{`\All`: true, `\Flagged`: true, `\Important`: true}

// cleanName trims a folder name component as Exchange wants it.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "_"
	}
	return s
}

// displayPath joins a source path for reports and filters.
func displayPath(p []string) string { return strings.Join(p, "/") }

// mapFolders decides where each source folder goes (docs/ARCHITECTURE.md, "The path of one message", step 3):
// SPECIAL-USE first, then INBOX, then well-known localized names, then the
// rest by name under the mapped parent. Subfolders follow their parent.
func mapFolders(folders []Folder, opts state.BatchOptions) ([]folderPlan, []folderExclusion) {
	claimed := map[string]string{} // well-known → display path of the folder that took it
	roots := map[string]string{}   // display path of a mapped folder → well-known
	for _, f := range folders {
		if t, ok := specialUseTarget[f.SpecialUse]; ok && claimed[t] == "" && !f.NoSelect {
			claimed[t] = displayPath(f.Path)
			roots[displayPath(f.Path)] = t
		}
	}
	for _, f := range folders {
		if len(f.Path) == 1 && strings.EqualFold(f.Path[0], "INBOX") {
			roots[displayPath(f.Path)] = WellKnownInbox
			claimed[WellKnownInbox] = displayPath(f.Path)
		}
	}
	for _, f := range folders {
		if len(f.Path) != 1 || f.NoSelect || f.SpecialUse != "" || roots[displayPath(f.Path)] != "" {
			continue
		}
		if t, ok := localizedTarget[strings.ToLower(strings.TrimSpace(f.Path[0]))]; ok && claimed[t] == "" {
			claimed[t] = displayPath(f.Path)
			roots[displayPath(f.Path)] = t
		}
	}
	var plans []folderPlan
	var excluded []folderExclusion
	for _, f := range folders {
		disp := displayPath(f.Path)
		if virtualSpecialUse[f.SpecialUse] {
			excluded = append(excluded, folderExclusion{f.Name, disp, "virtual folder (" + f.SpecialUse + "): its messages are copied from their real folders"})
			continue
		}
		p := folderPlan{Src: f, Display: disp}
		// The longest mapped prefix decides the parent.
		for i := len(f.Path); i >= 1; i-- {
			if t, ok := roots[displayPath(f.Path[:i])]; ok {
				p.Target.WellKnown = t
				for _, n := range f.Path[i:] {
					p.Target.Names = append(p.Target.Names, cleanName(n))
				}
				break
			}
		}
		if p.Target.WellKnown == "" {
			for _, n := range f.Path {
				p.Target.Names = append(p.Target.Names, cleanName(n))
			}
		}
		p.Draft = p.Target.WellKnown == WellKnownDrafts && len(p.Target.Names) == 0
		if reason := filterReason(disp, p.Target, opts); reason != "" {
			excluded = append(excluded, folderExclusion{f.Name, disp, reason})
			continue
		}
		plans = append(plans, p)
	}
	return plans, excluded
}

// filterReason applies exclude_folders, include_folders and
// migrate_deleted_items; "" keeps the folder.
func filterReason(disp string, target FolderPath, opts state.BatchOptions) string {
	if !opts.MigrateDeletedItems && target.WellKnown == WellKnownDeletedItems {
		return "migrate_deleted_items is false"
	}
	for _, pat := range opts.ExcludeFolders {
		if folderMatch(pat, disp) {
			return "excluded by exclude_folders " + pat
		}
	}
	if len(opts.IncludeFolders) == 0 {
		return ""
	}
	for _, pat := range opts.IncludeFolders {
		if folderMatch(pat, disp) {
			return ""
		}
	}
	return "not in include_folders"
}

// folderMatch matches a filter against a folder's display path: equal
// (case-insensitive), an ancestor of it, or a shell glob (path.Match).
func folderMatch(pat, disp string) bool {
	p, d := strings.ToLower(strings.Trim(pat, "/ ")), strings.ToLower(disp)
	if p == d || strings.HasPrefix(d, p+"/") {
		return true
	}
	ok, _ := path.Match(p, d)
	return ok
}
