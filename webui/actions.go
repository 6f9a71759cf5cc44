package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

// confirmData is a confirmation page: what will happen, and the form that
// does it.
type confirmData struct {
	Question string
	Detail   string
	Action   string // the form's URL
	Button   string
	Cancel   string
	Danger   bool
}

// action is one button of a batch or user page.
type action struct {
	Button, Question, Detail string
	Danger                   bool
	// do runs it and says what happened.
	do func(ctx context.Context, e Engine, name string) (string, error)
}

var batchActions = map[string]action{
	"start": {"Start", "Start batch %s?", "Its users are queued for their initial sync (or resume where they stopped).", false,
		func(ctx context.Context, e Engine, n string) (string, error) {
			return "Batch " + n + " started.", e.StartBatch(ctx, n)
		}},
	"stop": {"Stop", "Stop batch %s?", "Running passes stop at the next message boundary; nothing is lost, Start resumes.", true,
		func(ctx context.Context, e Engine, n string) (string, error) {
			return "Batch " + n + " is stopping.", e.StopBatch(ctx, n)
		}},
	"syncnow": {"Sync now", "Run an incremental sync of batch %s now?", "Every synced user of the batch is queued for a pass now instead of at its next interval.", false,
		func(ctx context.Context, e Engine, n string) (string, error) {
			k, err := e.SyncNowBatch(ctx, n)
			return fmt.Sprintf("%d users of batch %s queued for a sync.", k, n), err
		}},
	"complete": {"Complete", "Complete batch %s?", "A last incremental sync runs for every user, then the batch is finished: no more syncs. Do this after the MX records point at Exchange Online.", true,
		func(ctx context.Context, e Engine, n string) (string, error) {
			return "Batch " + n + " is completing.", e.CompleteBatch(ctx, n)
		}},
	"approve": {"Approve skipped", "Approve the skipped items of batch %s?", "Every skipped item of every user is accepted as not migrated; the users' scores no longer count them.", false,
		func(ctx context.Context, e Engine, n string) (string, error) {
			k, err := e.ApproveBatch(ctx, n)
			return fmt.Sprintf("%d skipped items of batch %s approved.", k, n), err
		}},
}

// BatchActions is the order of the batch page's buttons.
var BatchActions = []string{"start", "stop", "syncnow", "complete", "approve"}

var userActions = map[string]action{
	"syncnow": {"Sync now", "Sync %s now?", "The user is queued for an incremental pass now.", false,
		func(ctx context.Context, e Engine, n string) (string, error) {
			return "User " + n + " queued for a sync.", e.SyncNowUser(ctx, n)
		}},
	"approve": {"Approve skipped", "Approve the skipped items of %s?", "The user's skipped items are accepted as not migrated; its score no longer counts them.", false,
		func(ctx context.Context, e Engine, n string) (string, error) {
			k, err := e.ApproveSkipped(ctx, n)
			return fmt.Sprintf("%d skipped items of %s approved.", k, n), err
		}},
}

func (c *Console) confirmPage(w http.ResponseWriter, s *session, kind string, acts map[string]action, name, act string, back string) {
	a, ok := acts[act]
	if !ok {
		c.fail(w, s, &notFound{"action " + act})
		return
	}
	d := base(s, a.Button+" "+name, "batches")
	d.Confirm = &confirmData{
		Question: fmt.Sprintf(a.Question, name), Detail: a.Detail, Button: a.Button, Danger: a.Danger,
		Action: Prefix + kind + "/" + url.PathEscape(name) + "/" + act, Cancel: back,
	}
	c.render(w, http.StatusOK, "confirm", d)
}

func (c *Console) confirmBatchPage(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if _, err := c.eng.Batch(name); err != nil {
		c.fail(w, s, err)
		return
	}
	c.confirmPage(w, s, "batches", batchActions, name, r.PathValue("action"), Prefix+"batches/"+url.PathEscape(name))
}

func (c *Console) confirmUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	email := r.PathValue("email")
	if _, err := c.eng.User(email); err != nil {
		c.fail(w, s, err)
		return
	}
	c.confirmPage(w, s, "users", userActions, email, r.PathValue("action"), Prefix+"users/"+url.PathEscape(email))
}

// runAction runs a confirmed action, keeps its outcome for the next page
// and goes back to the object's page.
func (c *Console) runAction(w http.ResponseWriter, r *http.Request, s *session, acts map[string]action, kind, name, back string) {
	a, ok := acts[r.PathValue("action")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	msg, err := a.do(r.Context(), c.eng, name)
	if kind == "batch" {
		c.cache.drop(name)
	} else {
		c.cache.drop("")
	}
	if err != nil {
		s.addFlash(true, a.Button+" refused: "+err.Error())
		c.log.Info("console: action refused", "action", r.PathValue("action"), kind, name, "err", err)
	} else {
		s.addFlash(false, msg)
		c.log.Info("console: action", "action", r.PathValue("action"), kind, name, "remote", clientHost(r))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Console) batchAction(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	c.runAction(w, r, s, batchActions, "batch", name, Prefix+"batches/"+url.PathEscape(name))
}

func (c *Console) userAction(w http.ResponseWriter, r *http.Request, s *session) {
	email := r.PathValue("email")
	c.runAction(w, r, s, userActions, "user", email, Prefix+"users/"+url.PathEscape(email))
}

// userDetail is a user page's content.
type userDetail struct {
	V       migrate.UserView
	F, C    map[string]string
	Skipped []model.SkippedItem
	Pending int // skipped items not approved yet
	Events  []model.Event
}

// K is the live key of one of the user's figures.
func (u *userDetail) K(name string) string { return "u:" + u.V.EmailAddress + ":" + name }

// userEventsScanned is how many of the batch's last events the user page
// looks through for the user's own.
const userEventsScanned = 2000

func (c *Console) userDetail(email string) (*userDetail, error) {
	v, err := c.eng.User(email)
	if err != nil {
		return nil, err
	}
	d := &userDetail{V: v}
	d.F, d.C = userFigures(v)
	if d.Skipped, err = c.eng.Skipped(email); err != nil {
		return nil, err
	}
	for _, it := range d.Skipped {
		if !it.Approved {
			d.Pending++
		}
	}
	evs, err := c.eng.Events(v.BatchId, userEventsScanned)
	if err != nil {
		return nil, err
	}
	for _, e := range slices.Backward(evs) {
		if strings.EqualFold(e.User, v.EmailAddress) {
			d.Events = append(d.Events, e)
		}
		if len(d.Events) == 100 {
			break
		}
	}
	return d, nil
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	u, err := c.userDetail(r.PathValue("email"))
	if err != nil {
		c.fail(w, s, err)
		return
	}
	d := base(s, u.V.EmailAddress, "batches")
	d.User = u
	d.LiveURL = Prefix + "live/users/" + url.PathEscape(u.V.EmailAddress)
	c.render(w, http.StatusOK, "user", d)
}

// verifyUser runs `user verify` and shows its differences.
func (c *Console) verifyUser(w http.ResponseWriter, r *http.Request, s *session) {
	email := r.PathValue("email")
	res, err := c.eng.VerifyUser(r.Context(), email)
	if err != nil {
		s.addFlash(true, "Verify failed: "+err.Error())
		http.Redirect(w, r, Prefix+"users/"+url.PathEscape(email), http.StatusSeeOther)
		return
	}
	c.log.Info("console: user verified", "user", email, "verdict", res.Verdict, "differences", len(res.Differences))
	d := base(s, "Verify "+email, "batches")
	d.Verify = res
	c.render(w, http.StatusOK, "verify", d)
}
