package main

// The web console in a real browser: Debian's chromium, driven by chromedp,
// against the real daemon migrating from Dovecot into the Graph emulator.

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/hosttool"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// newBrowser starts headless chromium at 1280×800 and returns a tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(hosttool.Need(t, "chromium", "/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")),
		chromedp.Headless,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp may report after the test ended, when t.Logf panics: its
	// errors go to the test binary's stderr instead.
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(log.Printf))
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// browse runs browser actions with a deadline and fails the test on error.
func browse(t *testing.T, ctx context.Context, what string, limit time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// visible waits until the element is visible, across a navigation:
// chromedp's WaitVisible fails with "Could not find node with given id"
// when the document it queried is replaced under it (a form's POST and
// redirect), so it is asked again, on the new document, until the
// deadline.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for {
			v, err := chromedp.WaitVisible(chromedp.ID(sel))(ctx, t)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "Could not find node") {
				return v, err
			}
			select {
			case <-ctx.Done():
				return v, ctx.Err()
			case <-time.After(50 * time.Millisecond): // poll interval
			}
		}
	}
}

// waitJS polls a JavaScript predicate in the page until it is true.
func waitJS(expr string, limit time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(100*time.Millisecond))
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(value(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// screenshot writes docs/NAME when IMAPMIG_UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("IMAPMIG_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConsole_BrowserSignInRunningBatchStopAndApprove(t *testing.T) {
	ctx := newBrowser(t)
	// Slow enough Graph (latency per request) that the batch is still
	// running when the browser stops it.
	e := newE2E(t, "ui", 2, mailgen.Options{Messages: 150}, graphemu.Options{TimeScale: 60, Latency: 150 * time.Millisecond})
	e.appendConfig("max_message_bytes: 150000\n")
	u0 := e.users[0]
	e.appendOversize(context.Background(), u0.login, "scan too big for this test", "<big-ui@x>")
	e.start()
	token := e.apiToken() // never in the daemon's log
	e.newBatch("ui", "--autostart")
	base := "http://" + e.addr

	// Sign-in: any page leads there first.
	var loc string
	browse(t, ctx, "open the console", 30*time.Second,
		chromedp.Navigate(base+"/"),
		visible("#token"))
	loc = value(t, ctx, "location", chromedp.Location())
	if loc != base+"/ui/login" {
		t.Fatalf("without a session the browser is at %s", loc)
	}
	browse(t, ctx, "wrong token", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("#token"), "not-the-token"),
		chromedp.Click(chromedp.ID("#signin")),
		visible("#login-error"))
	browse(t, ctx, "sign in", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("#token"), token),
		chromedp.Click(chromedp.ID("#signin")),
		visible("#batches"))
	loc = value(t, ctx, "location", chromedp.Location())
	if loc != base+"/ui/batches" || strings.Contains(loc, token) {
		t.Fatalf("after sign-in at %s", loc)
	}

	// The batch page while the batch runs: figures move without a reload.
	browse(t, ctx, "open the batch", 20*time.Second,
		chromedp.Click(chromedp.CSS(`a[href="/ui/batches/ui"]`)),
		visible("#users"))
	value(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__notReloaded = true; true`))
	browse(t, ctx, "running batch copies, shown live", 3*time.Minute,
		waitJS(`(function(){
			var s = document.getElementById("batch-status").textContent;
			var items = document.querySelector('[data-k="b:ui:items"]').textContent;
			var copied = parseInt(items.split(" / ")[0].replace(/,/g, ""), 10);
			return window.__notReloaded === true && s === "Syncing" && copied > 0 &&
				document.getElementById("livestate").getAttribute("data-state") === "live";
		})()`, 3*time.Minute))
	rows := textOf(t, ctx, "#users tbody")
	for _, u := range e.users {
		if !strings.Contains(rows, u.email) {
			t.Errorf("users table lacks %s: %s", u.email, rows)
		}
	}

	// Stop, with confirmation.
	browse(t, ctx, "stop the batch", 30*time.Second,
		chromedp.Click(chromedp.ID("#action-stop")),
		visible("#confirm"),
		chromedp.Click(chromedp.ID("#confirm")),
		visible("#users"))
	if flash := textOf(t, ctx, ".flash"); flash != "Batch ui is stopping." {
		t.Fatalf("after stop the page says %q", flash)
	}
	browse(t, ctx, "batch stopped", 2*time.Minute,
		waitJS(`document.getElementById("batch-status").textContent === "Stopped"`, 2*time.Minute))
	if v := e.batch("ui"); v.Status != "Stopped" || v.SyncedItemCount >= v.EstimatedTotalCount {
		t.Fatalf("after the browser's stop the daemon says %s, %d of %d items", v.Status, v.SyncedItemCount, v.EstimatedTotalCount)
	}

	// Start again and let it finish; the page follows without a reload.
	browse(t, ctx, "start again", 30*time.Second,
		chromedp.Click(chromedp.ID("#action-start")),
		visible("#confirm"),
		chromedp.Click(chromedp.ID("#confirm")),
		visible("#users"))
	value(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__notReloaded = true; true`))
	browse(t, ctx, "batch synced", 5*time.Minute,
		waitJS(`window.__notReloaded === true && document.getElementById("batch-status").textContent === "Synced"`, 5*time.Minute))
	// The throughput chart has the daemon's samples (one every 10 s).
	browse(t, ctx, "throughput chart drawn", 2*time.Minute,
		waitJS(`(document.getElementById("chart-items").getAttribute("d") || "").indexOf("L") > 0`, 2*time.Minute))
	screenshot(t, ctx, "console-batch.png")

	// The user page: folders, the skipped item, approve it, verify.
	browse(t, ctx, "open the user", 20*time.Second,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/ui/users/%s"]`, u0.email))),
		visible("#skipped"),
		visible("#folders"))
	sk := textOf(t, ctx, "#skipped tbody")
	if !strings.Contains(sk, "scan too big for this test") || !strings.Contains(sk, "MessageTooLarge") || !strings.Contains(sk, "no") {
		t.Fatalf("skipped items on the user page: %s", sk)
	}
	if folders := textOf(t, ctx, "#folders tbody"); !strings.Contains(folders, "INBOX") || !strings.Contains(folders, "Inbox") {
		t.Errorf("folders table: %s", folders)
	}
	screenshot(t, ctx, "console-user.png")
	browse(t, ctx, "approve the skipped item", 30*time.Second,
		chromedp.Click(chromedp.ID("#action-approve")),
		visible("#confirm"),
		chromedp.Click(chromedp.ID("#confirm")),
		visible("#skipped"))
	if flash := textOf(t, ctx, ".flash"); flash != "1 skipped items of "+u0.email+" approved." {
		t.Errorf("after approve the page says %q", flash)
	}
	if cell := textOf(t, ctx, "#skipped td.approved"); cell != "approved" {
		t.Errorf("approved cell: %q", cell)
	}
	var items []struct{ Approved bool }
	if err := json.Unmarshal([]byte(e.cli("user", "skipped", u0.email, "-o", "json")), &items); err != nil || len(items) != 1 || !items[0].Approved {
		t.Fatalf("the daemon's skipped items after the browser's approve: %+v %v", items, err)
	}
	browse(t, ctx, "verify now", 2*time.Minute,
		chromedp.Click(chromedp.ID("#action-verify")),
		visible("#verdict"))
	if n := textOf(t, ctx, "#diff-count"); n != "0" {
		t.Errorf("verify found %s differences: %s\nthe user: %s\nevents:\n%s", n, textOf(t, ctx, "main"),
			e.cli("user", "get", u0.email, "-o", "json"), e.cli("batch", "events", "ui", "--last", "100"))
	}

	// Batches and events pages, then sign out.
	browse(t, ctx, "batches page", 20*time.Second,
		chromedp.Navigate(base+"/ui/batches"),
		visible("#batches"),
		waitJS(`document.getElementById("livestate").getAttribute("data-state") === "live"`, 20*time.Second))
	if row := textOf(t, ctx, `tr[data-batch="ui"]`); !strings.Contains(row, "Synced") {
		t.Errorf("batches row: %s", row)
	}
	screenshot(t, ctx, "console-batches.png")
	browse(t, ctx, "events page", 20*time.Second,
		chromedp.Navigate(base+"/ui/events?batch=ui"),
		visible("#events"))
	browse(t, ctx, "sign out", 20*time.Second,
		chromedp.Click(chromedp.ID("#signout")),
		visible("#token"),
		chromedp.Navigate(base+"/ui/batches/ui"),
		visible("#token"))
}
