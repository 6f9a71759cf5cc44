package model

import "time"

// BatchStatus is a batch's status as Exchange Online names it (docs/ARCHITECTURE.md, "Objects and statuses").
type BatchStatus string

// Batch statuses.
const (
	BatchCreated             BatchStatus = "Created"
	BatchStarting            BatchStatus = "Starting"
	BatchSyncing             BatchStatus = "Syncing"
	BatchSynced              BatchStatus = "Synced"
	BatchSyncedWithErrors    BatchStatus = "SyncedWithErrors"
	BatchStopping            BatchStatus = "Stopping"
	BatchStopped             BatchStatus = "Stopped"
	BatchCompleting          BatchStatus = "Completing"
	BatchCompleted           BatchStatus = "Completed"
	BatchCompletedWithErrors BatchStatus = "CompletedWithErrors"
	BatchFailed              BatchStatus = "Failed"
	BatchRemoving            BatchStatus = "Removing"
)

// UserStatus is a migration user's status (docs/ARCHITECTURE.md, "Objects and statuses").
type UserStatus string

// User statuses.
const (
	// UserCreated is a user of a batch that was never started (an extension
	// of Exchange's list: it has no name for this state).
	UserCreated               UserStatus = "Created"
	UserQueued                UserStatus = "Queued"
	UserValidating            UserStatus = "Validating"
	UserSyncing               UserStatus = "Syncing"
	UserSynced                UserStatus = "Synced"
	UserIncrementalSyncing    UserStatus = "IncrementalSyncing"
	UserStopping              UserStatus = "Stopping"
	UserStopped               UserStatus = "Stopped"
	UserFailed                UserStatus = "Failed"
	UserCompleting            UserStatus = "Completing"
	UserCompleted             UserStatus = "Completed"
	UserCompletedWithWarnings UserStatus = "CompletedWithWarnings"
)

// Endpoint is an IMAP source as declared in config. It holds no secret.
type Endpoint struct {
	Name                          string `json:"Name"`
	Host                          string `json:"Host"`
	Port                          int    `json:"Port"`
	Security                      string `json:"Security"`
	Auth                          string `json:"Auth"`
	AcceptUntrustedCertificates   bool   `json:"AcceptUntrustedCertificates"`
	MaxConcurrentMigrations       int    `json:"MaxConcurrentMigrations"`
	MaxConcurrentIncrementalSyncs int    `json:"MaxConcurrentIncrementalSyncs"`
	MaxConnectionsPerUser         int    `json:"MaxConnectionsPerUser,omitempty"`
	MasterUser                    string `json:"MasterUser,omitempty"`
	CAFile                        string `json:"CaFile,omitempty"`
}

// Tenant is a Graph target as declared in config. It holds no secret: the
// credential is named (an environment variable or a file), never stored.
type Tenant struct {
	Name          string `json:"Name"`
	TenantID      string `json:"TenantId"`
	ClientID      string `json:"ClientId"`
	Credential    string `json:"Credential"` // "client_secret", "certificate", "managed_identity"
	AuthorityHost string `json:"AuthorityHost,omitempty"`
	GraphURL      string `json:"GraphUrl,omitempty"`
}

// BatchOptions are the per-batch options (docs/ARCHITECTURE.md, "Objects and statuses").
type BatchOptions struct {
	ExcludeFolders      []string      `json:"ExcludeFolders,omitempty"`
	IncludeFolders      []string      `json:"IncludeFolders,omitempty"`
	ReceivedAfter       time.Time     `json:"ReceivedAfter,omitzero"`
	StartAfter          time.Time     `json:"StartAfter,omitzero"`
	CompleteAfter       time.Time     `json:"CompleteAfter,omitzero"`
	SyncInterval        time.Duration `json:"SyncInterval"`
	NotificationEmails  []string      `json:"NotificationEmails,omitempty"`
	MigrateDeletedItems bool          `json:"MigrateDeletedItems"`
}

// Batch is a named set of users from one CSV, bound to one endpoint and one
// tenant.
type Batch struct {
	Name       string       `json:"Name"`
	Endpoint   string       `json:"Endpoint"`
	Tenant     string       `json:"Tenant"`
	CSVPath    string       `json:"CsvPath,omitempty"`
	Status     BatchStatus  `json:"Status"`
	Options    BatchOptions `json:"Options"`
	FromConfig bool         `json:"FromConfig,omitempty"`
	CreatedAt  time.Time    `json:"CreationDateTime"`
	StartedAt  time.Time    `json:"StartDateTime,omitzero"`
	UpdatedAt  time.Time    `json:"LastUpdatedTime,omitzero"`
	// LastReportAt is when the last report mail went out; ReportedSynced
	// and ReportedCompleted record the one-off reports.
	LastReportAt      time.Time `json:"LastReportTime,omitzero"`
	ReportedSynced    bool      `json:"ReportedSynced,omitempty"`
	ReportedCompleted bool      `json:"ReportedCompleted,omitempty"`
}

// User is one migration user: one CSV row and its sync figures.
type User struct {
	EmailAddress string `json:"EmailAddress"`
	Batch        string `json:"BatchId"`
	UserName     string `json:"UserName"`
	// PasswordSealed is the IMAP password sealed by a Sealer with the
	// lower-case EmailAddress as context. Never the plain text.
	PasswordSealed []byte     `json:"PasswordSealed"`
	UserRoot       string     `json:"UserRoot,omitempty"`
	Status         UserStatus `json:"Status"`

	EstimatedTotalCount    int64     `json:"EstimatedTotalCount"`
	EstimatedTotalSize     int64     `json:"EstimatedTotalSize"`
	SyncedItemCount        int64     `json:"SyncedItemCount"`
	SyncedBytes            int64     `json:"SyncedBytes"`
	SkippedItemCount       int64     `json:"SkippedItemCount"`
	LastSuccessfulSyncTime time.Time `json:"LastSuccessfulSyncTime,omitzero"`
	DataConsistencyScore   string    `json:"DataConsistencyScore,omitempty"`
	ErrorReason            string    `json:"ErrorReason,omitempty"`
	LastError              string    `json:"LastError,omitempty"`
	// Failures counts failed passes in a row (reset by a good one).
	Failures int `json:"ConsecutiveFailures,omitempty"`
	// ItemNotes counts messages migrated other than as a plain copy, by
	// note (e.g. SmimeStoredAsAttachment).
	ItemNotes map[string]int64 `json:"ItemNotes,omitempty"`

	QueuedAt   time.Time `json:"QueuedTime,omitzero"`
	StartedAt  time.Time `json:"StartTime,omitzero"`
	NextSyncAt time.Time `json:"NextSyncTime,omitzero"`
	CreatedAt  time.Time `json:"CreationTime"`
	UpdatedAt  time.Time `json:"LastUpdatedTime,omitzero"`
}

// SkippedItem is a message that was not migrated, with the reason.
type SkippedItem struct {
	Seq       uint64    `json:"Seq"`
	Folder    string    `json:"Folder"`
	UID       uint32    `json:"Uid,omitempty"`
	SourceKey string    `json:"SourceKey,omitempty"`
	Date      time.Time `json:"Date,omitzero"`
	Subject   string    `json:"Subject,omitempty"`
	Size      int64     `json:"Size"`
	Reason    string    `json:"Reason"`
	Message   string    `json:"Message,omitempty"`
	Approved  bool      `json:"Approved"`
	At        time.Time `json:"RecordedTime"`
}

// Event is one line of a batch's event log.
type Event struct {
	Seq     uint64    `json:"Seq"`
	At      time.Time `json:"Time"`
	User    string    `json:"User,omitempty"`
	Level   string    `json:"Level"`
	Message string    `json:"Message"`
}
