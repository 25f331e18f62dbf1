package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of a Database.
const (
	// ConditionReady is True when the database is provisioned and its connection Secret is in
	// the consumer's namespace.
	ConditionReady = "Ready"
	// ReasonProvisioned: the database is ready.
	ReasonProvisioned = "Provisioned"
	// ReasonSecretClaimRejected: the consumer's APIBinding does not accept the export's claim
	// on connection secrets, so the provider cannot hand over the credentials.
	ReasonSecretClaimRejected = "SecretClaimRejected"
	// ReasonServicePending: the export is a managed service and the platform has not yet
	// connected the account (no shadow account or tenant space yet).
	ReasonServicePending = "ServicePending"

	// ReasonWaitingForDependencies: an OrchestrationContext lists the database with
	// dependencies that are not ready yet; it is provisioned once they are.
	ReasonWaitingForDependencies = "WaitingForDependencies"
)

// Engines a Database may run.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
)

// ConnectionLabel marks the Secrets the provider writes; the export's claim on secrets
// selects them, so the provider can touch no other Secret of the consumer.
const ConnectionLabel = "db.example.com/connection"

// CleanupFinalizer holds a deleted Database until the provider has deleted its connection
// Secret.
const CleanupFinalizer = "db.example.com/cleanup"

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Database is a database a consumer orders from the example provider.
type Database struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the consumer orders.
	// +optional
	Spec DatabaseSpec `json:"spec,omitempty"`
	// status is what the provider reports.
	// +optional
	Status DatabaseStatus `json:"status,omitempty"`
}

// DatabaseSpec is the ordered database.
type DatabaseSpec struct {
	// engine is postgres (the default) or mysql.
	// +optional
	Engine string `json:"engine,omitempty"`
	// size is S, M or L.
	// +optional
	Size string `json:"size,omitempty"`
}

// DatabaseStatus is the provisioned database.
type DatabaseStatus struct {
	// conditions: Ready.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// endpoint is host:port of the database.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// DatabaseList is a list of Databases.
type DatabaseList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the databases.
	Items []Database `json:"items"`
}
