// Package crd owns the status of CustomResourceDefinitions in every account, with upstream's
// semantics per account:
//
//   - names: a CRD's plural, singular, short names, kind and list kind must not be in use by
//     another CRD of the same group in the same account; accepted names go to
//     status.acceptedNames and the NamesAccepted condition (reasons NoConflicts,
//     PluralConflict, SingularConflict, ShortNamesConflict, KindConflict, ListKindConflict).
//   - establishing: Established becomes True (InitialNamesAccepted) only once the dynamic
//     handler's index serves the CRD, so a client that sees Established can use it at once. A
//     CRD with a webhook conversion strategy is never served: Established=False,
//     ConversionWebhookNotSupported.
//   - cleanup: a deleted CRD keeps upstream's finalizer until every custom resource of it in its
//     own account is gone (Terminating condition: InstanceDeletionInProgress, then
//     InstanceDeletionCompleted); other accounts' objects are never touched.
//
// It watches CRDs of all accounts through one shared wildcard informer and writes through
// per-account clients. It must not write CRD specs or anything but custom resources of a
// terminating CRD.
package crd
