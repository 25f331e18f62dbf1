package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

// accountAPI is what the reconciler does with Account objects.
type accountAPI interface {
	// UpdateStatus writes the status of acc, an Account in account parent.
	UpdateStatus(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	// RemoveFinalizer releases acc, an Account in account parent.
	RemoveFinalizer(ctx context.Context, parent cluster.ID, acc *corev1alpha1.Account) error
	// ListChildren lists the Accounts inside account id.
	ListChildren(ctx context.Context, id cluster.ID) ([]corev1alpha1.Account, error)
	// Delete deletes the Account name inside account id.
	Delete(ctx context.Context, id cluster.ID, name string) error
}

// contentAPI is what the reconciler does with the objects inside an account.
type contentAPI interface {
	// Purge deletes everything inside the account of Account name, which lives in account parent.
	Purge(ctx context.Context, parent cluster.ID, name string) error
}

// resolver is what the reconciler needs of the account index.
type resolver interface {
	Resolve(pathOrID string) (cluster.ID, bool)
}

// Initializer is an initializer the account controller runs itself: its name and its work in
// the new account, which must be idempotent.
type Initializer struct {
	Name string
	Work func(ctx context.Context, acc *corev1alpha1.Account) error
}

// reconciler reconciles one Account, stored in account parent.
type reconciler struct {
	// initializers are the initializers this controller is responsible for.
	initializers    []Initializer
	parent          cluster.ID
	accounts        accountAPI
	content         contentAPI
	index           resolver
	childCheckDelay time.Duration
	// baseURL is the server's external URL; account URLs are derived from it.
	baseURL string
}

// result says whether to go on with the next step and when to look again.
type result struct {
	stop    bool
	requeue time.Duration
	// released is set once the Account object has been let go; there is no status to write.
	released bool
}

type step func(ctx context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error)

// reconcile runs the steps for the account's state and writes the status once at the end.
func (r *reconciler) reconcile(ctx context.Context, acc *corev1alpha1.Account) (time.Duration, error) {
	if acc.Status.ClusterID == "" {
		return 0, nil
	}
	steps := []step{r.ensureURL, r.ensureResolvable, r.initialize, r.waitForInitializers, r.markReady}
	if acc.DeletionTimestamp != nil {
		if !hasFinalizer(acc) {
			return 0, nil
		}
		steps = []step{r.markTerminating, r.deleteChildren, r.waitForTerminators, r.deleteContent, r.release}
	}
	status := acc.Status.DeepCopy()
	var res result
	var err error
	for _, s := range steps {
		if res, err = s(ctx, acc, status); err != nil || res.stop {
			break
		}
	}
	if !apiequality.Semantic.DeepEqual(status, &acc.Status) && !res.released {
		updated := acc.DeepCopy()
		updated.Status = *status
		if uerr := r.accounts.UpdateStatus(ctx, r.parent, updated); uerr != nil && err == nil {
			err = fmt.Errorf("failed to update status: %w", uerr)
		}
	}
	return res.requeue, err
}

func hasFinalizer(acc *corev1alpha1.Account) bool {
	for _, f := range acc.Finalizers {
		if f == corev1alpha1.AccountFinalizer {
			return true
		}
	}
	return false
}

// ensureURL keeps the account's URL in line with the server's current address, which changes
// when the server restarts on another port.
func (r *reconciler) ensureURL(_ context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	status.URL = r.baseURL + cluster.URLPrefix + acc.Status.Path
	return result{}, nil
}

// initialize does the work of the initializers this controller is responsible for and removes
// their names from the status, which is written once, with Ready when nothing else is pending.
func (r *reconciler) initialize(ctx context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	for _, i := range r.initializers {
		if !slices.Contains(status.Initializers, i.Name) {
			continue
		}
		if err := i.Work(ctx, acc); err != nil {
			err = fmt.Errorf("initializer %s failed: %w", i.Name, err)
			setCondition(status, acc.Generation, corev1alpha1.AccountConditionInitialized, metav1.ConditionFalse,
				corev1alpha1.AccountReasonInitializerFailed, err.Error())
			return result{stop: true}, err
		}
		status.Initializers = slices.DeleteFunc(status.Initializers, func(n string) bool { return n == i.Name })
	}
	return result{}, nil
}

// waitForInitializers keeps the account Initializing while initializers are pending. Each
// initializer's controller removes its own name; the change brings the account back here.
func (r *reconciler) waitForInitializers(_ context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	if len(status.Initializers) == 0 {
		setCondition(status, acc.Generation, corev1alpha1.AccountConditionInitialized, metav1.ConditionTrue,
			corev1alpha1.AccountReasonInitialized, "all initializers have finished")
		return result{}, nil
	}
	corev1alpha1.SetInitializingConditions(status, acc.Generation)
	return result{stop: true}, nil
}

// ensureResolvable waits until the account's path resolves, so that Ready means usable by path
// and requests into the new account can be made.
// This lasts milliseconds, so it is not worth a status write.
func (r *reconciler) ensureResolvable(_ context.Context, acc *corev1alpha1.Account, _ *corev1alpha1.AccountStatus) (result, error) {
	if id, ok := r.index.Resolve(acc.Status.Path); !ok || id != cluster.ID(acc.Status.ClusterID) {
		return result{stop: true, requeue: 20 * time.Millisecond}, nil
	}
	return result{}, nil
}

// markReady marks the account Ready.
func (r *reconciler) markReady(_ context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	status.Phase = corev1alpha1.AccountPhaseReady
	setCondition(status, acc.Generation, corev1alpha1.AccountConditionReady, metav1.ConditionTrue,
		corev1alpha1.AccountReasonReady, "the account is ready")
	return result{}, nil
}

// markTerminating records that the account is being deleted.
func (r *reconciler) markTerminating(_ context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	status.Phase = corev1alpha1.AccountPhaseTerminating
	setCondition(status, acc.Generation, corev1alpha1.AccountConditionReady, metav1.ConditionFalse,
		string(corev1alpha1.AccountPhaseTerminating), "the account is being deleted")
	return result{}, nil
}

// deleteChildren deletes the child accounts and waits until they are gone: deletion runs
// bottom-up, so a parent outlives all its descendants.
func (r *reconciler) deleteChildren(ctx context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	id := cluster.ID(acc.Status.ClusterID)
	children, err := r.accounts.ListChildren(ctx, id)
	if err != nil {
		return result{stop: true}, fmt.Errorf("failed to list child accounts: %w", err)
	}
	if len(children) == 0 {
		return result{}, nil
	}
	for _, child := range children {
		if child.DeletionTimestamp == nil {
			if err := r.accounts.Delete(ctx, id, child.Name); err != nil {
				return result{stop: true}, fmt.Errorf("failed to delete child account %s: %w", child.Name, err)
			}
		}
	}
	setCondition(status, acc.Generation, corev1alpha1.AccountConditionContentDeleted, metav1.ConditionFalse,
		corev1alpha1.AccountReasonChildrenRemaining, fmt.Sprintf("waiting for %d child accounts to be deleted", len(children)))
	// The deletion of the last child brings the account back here; the requeue is a safety net.
	return result{stop: true, requeue: r.childCheckDelay}, nil
}

// waitForTerminators waits until every terminator has finished. Terminators start when the
// deletion starts and work while the account still has its content.
func (r *reconciler) waitForTerminators(_ context.Context, acc *corev1alpha1.Account, status *corev1alpha1.AccountStatus) (result, error) {
	if len(acc.Status.Terminators) == 0 {
		return result{}, nil
	}
	setCondition(status, acc.Generation, corev1alpha1.AccountConditionContentDeleted, metav1.ConditionFalse,
		corev1alpha1.AccountReasonTerminatorsPending, "waiting for terminators: "+strings.Join(acc.Status.Terminators, ", "))
	return result{stop: true}, nil
}

// deleteContent deletes everything inside the account at once.
func (r *reconciler) deleteContent(ctx context.Context, acc *corev1alpha1.Account, _ *corev1alpha1.AccountStatus) (result, error) {
	if err := r.content.Purge(ctx, r.parent, acc.Name); err != nil {
		return result{stop: true}, fmt.Errorf("failed to delete the account's content: %w", err)
	}
	return result{}, nil
}

// release removes the finalizer so that the Account object disappears.
func (r *reconciler) release(ctx context.Context, acc *corev1alpha1.Account, _ *corev1alpha1.AccountStatus) (result, error) {
	if err := r.accounts.RemoveFinalizer(ctx, r.parent, acc); err != nil {
		return result{stop: true}, fmt.Errorf("failed to remove the finalizer: %w", err)
	}
	klog.FromContext(ctx).V(2).Info("Account deleted", "path", acc.Status.Path, "clusterID", acc.Status.ClusterID)
	return result{stop: true, released: true}, nil
}

func setCondition(status *corev1alpha1.AccountStatus, generation int64, typ string, s metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation,
	})
}
