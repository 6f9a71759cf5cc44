package httpapi

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SetCSVDir sets the directory under which a request's CsvPath may name a
// file (the config's csv_dir). With none set, CsvPath is refused and the
// CSV must be uploaded in Csv. Safe to call while serving (config reload).
func (s *Server) SetCSVDir(dir string) {
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	s.csvDir.Store(&dir)
}

// CSVDir is the directory set with SetCSVDir ("" for none).
func (s *Server) CSVDir() string {
	if p := s.csvDir.Load(); p != nil {
		return *p
	}
	return ""
}

// checkCSVPath resolves a request's CsvPath (relative ones against the
// csv_dir) and refuses one that is not a file under the csv_dir, symbolic
// links followed. The error names the path, shortened, never the file's
// content.
func (s *Server) checkCSVPath(p string) (string, error) {
	dir := s.CSVDir()
	shown := truncate(p, 200)
	if dir == "" {
		return "", &badRequest{fmt.Sprintf("CsvPath %q: the daemon reads no CSV paths (csv_dir is not set); send the file's content in Csv", shown)}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	outside := &badRequest{fmt.Sprintf("CsvPath %q is outside the daemon's csv_dir %s; put the file there or send its content in Csv (imapmig batch new --csv FILE uploads it)", shown, dir)}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", &badRequest{fmt.Sprintf("csv_dir %s cannot be read: %v", dir, err)}
	}
	if !within(realDir, filepath.Clean(p)) && !within(dir, filepath.Clean(p)) {
		return "", outside
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", &badRequest{fmt.Sprintf("CsvPath %q: no such file under csv_dir %s", shown, dir)}
	}
	if !within(realDir, real) {
		return "", outside
	}
	return real, nil
}

// within says whether path p lies under dir (both clean and absolute).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
