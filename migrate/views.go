package migrate

import (
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// UserView is a migration user as operators see it (`imapmig user get -o
// json`). Field names are stable and follow Exchange Online's
// Get-MigrationUserStatistics where it has one. It never carries a password.
type UserView struct {
	EmailAddress           string           `json:"EmailAddress"`
	BatchId                string           `json:"BatchId"`
	UserName               string           `json:"UserName"`
	UserRoot               string           `json:"UserRoot,omitempty"`
	Status                 state.UserStatus `json:"Status"`
	EstimatedTotalCount    int64            `json:"EstimatedTotalCount"`
	EstimatedTotalSize     int64            `json:"EstimatedTotalSize"`
	SyncedItemCount        int64            `json:"SyncedItemCount"`
	SyncedBytes            int64            `json:"SyncedBytes"`
	SkippedItemCount       int64            `json:"SkippedItemCount"`
	ItemNotes              map[string]int64 `json:"ItemNotes,omitempty"`
	LastSuccessfulSyncTime *time.Time       `json:"LastSuccessfulSyncTime"`
	DataConsistencyScore   string           `json:"DataConsistencyScore"`
	ErrorReason            string           `json:"ErrorReason,omitempty"`
	LastError              string           `json:"LastError,omitempty"`
	ItemsPerSecond         float64          `json:"ItemsPerSecond"`
	BytesPerSecond         float64          `json:"BytesPerSecond"`
	EstimatedSecondsLeft   *float64         `json:"EstimatedSecondsLeft"`
	QueuedTime             *time.Time       `json:"QueuedTime"`
	StartTime              *time.Time       `json:"StartTime"`
	NextSyncTime           *time.Time       `json:"NextSyncTime"`
	CreationTime           time.Time        `json:"CreationTime"`
	LastUpdatedTime        *time.Time       `json:"LastUpdatedTime"`
	// Durations (seconds) as Exchange's migration report has them: time
	// queued, in progress (this pass), since the last successful sync,
	// and without progress while running.
	QueuedDuration     float64    `json:"QueuedDuration"`
	InProgressDuration float64    `json:"InProgressDuration"`
	SyncedDuration     float64    `json:"SyncedDuration"`
	StalledDuration    float64    `json:"StalledDuration"`
	Stalled            bool       `json:"Stalled"`
	LastProgressTime   *time.Time `json:"LastProgressTime"`
	// PacingUntil is set while the user's uploads wait for Graph's budget
	// (the per-mailbox governor): when the window frees.
	PacingUntil *time.Time `json:"PacingUntil,omitempty"`
	// Folders is the user's source folders with their figures (user get
	// only; lists of users leave it out).
	Folders []FolderView `json:"Folders,omitempty"`
	// WaitingFor is set while a running pass waits instead of copying: why
	// (a reason and the error, e.g. "ImapConnectionFailed: connecting to
	// IMAP server ...: connection refused"), and WaitingUntil when it
	// tries again. Between passes, a failed pass shows ErrorReason,
	// LastError and NextSyncTime instead.
	WaitingFor   string     `json:"WaitingFor,omitempty"`
	WaitingUntil *time.Time `json:"WaitingUntil,omitempty"`
}

// BatchView is a batch with its users' counts and totals.
type BatchView struct {
	Name                      string             `json:"Identity"`
	BatchName                 string             `json:"Name"` // the same as Identity, for scripts that expect Name
	Status                    state.BatchStatus  `json:"Status"`
	Endpoint                  string             `json:"SourceEndpoint"`
	Tenant                    string             `json:"TargetTenant"`
	CSVPath                   string             `json:"CsvPath,omitempty"`
	Options                   state.BatchOptions `json:"Options"`
	TotalCount                int                `json:"TotalCount"`
	ActiveCount               int                `json:"ActiveCount"`
	QueuedCount               int                `json:"QueuedCount"`
	SyncedCount               int                `json:"SyncedCount"`
	StoppedCount              int                `json:"StoppedCount"`
	FailedCount               int                `json:"FailedCount"`
	CompletedCount            int                `json:"CompletedCount"`
	CompletedWithWarningCount int                `json:"CompletedWithWarningCount"`
	StalledCount              int                `json:"StalledCount"`
	EstimatedTotalCount       int64              `json:"EstimatedTotalCount"`
	EstimatedTotalSize        int64              `json:"EstimatedTotalSize"`
	SyncedItemCount           int64              `json:"SyncedItemCount"`
	SyncedBytes               int64              `json:"SyncedBytes"`
	SkippedItemCount          int64              `json:"SkippedItemCount"`
	// MissingItemCount is the messages in scope that are neither in the
	// target nor recorded as skipped: the whole estimate of a user that
	// failed or has not finished its initial sync is in it.
	MissingItemCount int64 `json:"MissingItemCount"`
	// NotSyncedCount is the users without a successful pass yet (failed
	// ones included).
	NotSyncedCount       int              `json:"NotSyncedCount"`
	ItemNotes            map[string]int64 `json:"ItemNotes,omitempty"`
	DataConsistencyScore string           `json:"DataConsistencyScore"`
	CreationDateTime     time.Time        `json:"CreationDateTime"`
	StartDateTime        *time.Time       `json:"StartDateTime"`
	LastSyncedDateTime   *time.Time       `json:"LastSyncedDateTime"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func userView(u state.User) UserView {
	return UserView{
		EmailAddress: u.EmailAddress, BatchId: u.Batch, UserName: u.UserName, UserRoot: u.UserRoot,
		Status:                 u.Status,
		EstimatedTotalCount:    u.EstimatedTotalCount,
		EstimatedTotalSize:     u.EstimatedTotalSize,
		SyncedItemCount:        u.SyncedItemCount,
		SyncedBytes:            u.SyncedBytes,
		SkippedItemCount:       u.SkippedItemCount,
		ItemNotes:              u.ItemNotes,
		LastSuccessfulSyncTime: timePtr(u.LastSuccessfulSyncTime),
		DataConsistencyScore:   u.DataConsistencyScore,
		ErrorReason:            u.ErrorReason,
		LastError:              u.LastError,
		QueuedTime:             timePtr(u.QueuedAt),
		StartTime:              timePtr(u.StartedAt),
		NextSyncTime:           timePtr(u.NextSyncAt),
		CreationTime:           u.CreatedAt,
		LastUpdatedTime:        timePtr(u.UpdatedAt),
	}
}

// scoreRank orders DataConsistencyScore values from best to worst; the
// batch shows its worst user's.
var scoreRank = map[string]int{"": 0, "Perfect": 1, "Good": 2, "Investigate": 3, "Poor": 4}

func batchView(b state.Batch, users []state.User) BatchView {
	v := BatchView{
		Name: b.Name, BatchName: b.Name, Status: b.Status, Endpoint: b.Endpoint, Tenant: b.Tenant, CSVPath: b.CSVPath,
		Options: b.Options, TotalCount: len(users), CreationDateTime: b.CreatedAt, StartDateTime: timePtr(b.StartedAt),
	}
	var last time.Time
	for _, u := range users {
		switch u.Status {
		case model.UserQueued:
			v.QueuedCount++
		case model.UserValidating, model.UserSyncing, model.UserIncrementalSyncing, model.UserCompleting, model.UserStopping:
			v.ActiveCount++
		case model.UserSynced:
			v.SyncedCount++
		case model.UserStopped:
			v.StoppedCount++
		case model.UserFailed:
			v.FailedCount++
		case model.UserCompleted:
			v.CompletedCount++
		case model.UserCompletedWithWarnings:
			v.CompletedWithWarningCount++
		}
		v.EstimatedTotalCount += u.EstimatedTotalCount
		v.EstimatedTotalSize += u.EstimatedTotalSize
		v.SyncedItemCount += u.SyncedItemCount
		v.SyncedBytes += u.SyncedBytes
		v.SkippedItemCount += u.SkippedItemCount
		for k, n := range u.ItemNotes {
			if v.ItemNotes == nil {
				v.ItemNotes = map[string]int64{}
			}
			v.ItemNotes[k] += n
		}
		v.MissingItemCount += missingOf(u)
		if u.LastSuccessfulSyncTime.IsZero() {
			v.NotSyncedCount++
		}
		if u.LastSuccessfulSyncTime.After(last) {
			last = u.LastSuccessfulSyncTime
		}
	}
	v.LastSyncedDateTime = timePtr(last)
	v.DataConsistencyScore = batchScore(users)
	return v
}

// missingOf is a user's messages in scope that are neither in the target
// nor skipped.
func missingOf(u state.User) int64 {
	return max(0, u.EstimatedTotalCount-u.SyncedItemCount-u.SkippedItemCount)
}

// userScore is the score a user adds to its batch: its own after a
// successful pass; a Failed user is Poor when nothing of it was ever synced
// and at least Investigate when its later passes fail; a user still
// without a successful pass scores "" (not known yet).
func userScore(u state.User) string {
	s := u.DataConsistencyScore
	if u.LastSuccessfulSyncTime.IsZero() {
		s = ""
	}
	if u.Status == model.UserFailed {
		floor := ScoreInvestigate
		if u.LastSuccessfulSyncTime.IsZero() {
			floor = ScorePoor
		}
		if scoreRank[s] < scoreRank[floor] {
			s = floor
		}
	}
	return s
}

// batchScore never flatters: it is the worst user's score, and while any
// user has no successful pass yet it cannot be Perfect or Good ("" until
// every user is synced, unless a user already scores worse).
func batchScore(users []state.User) string {
	worst, pending := "", false
	for _, u := range users {
		s := userScore(u)
		if s == "" {
			pending = true
		}
		if scoreRank[s] > scoreRank[worst] {
			worst = s
		}
	}
	if pending && scoreRank[worst] < scoreRank[ScoreInvestigate] {
		return ""
	}
	return worst
}
