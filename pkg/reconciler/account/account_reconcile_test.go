package account

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/core/v1alpha1"
	"github.com/accountmesh/accountmesh/pkg/cluster"
)

type fakeAccounts struct {
	children       []corev1alpha1.Account
	deleted        []string
	statusWritten  *corev1alpha1.Account
	finalizerFreed bool
}

func (f *fakeAccounts) UpdateStatus(_ context.Context, _ cluster.ID, acc *corev1alpha1.Account) error {
	f.statusWritten = acc
	return nil
}

func (f *fakeAccounts) RemoveFinalizer(context.Context, cluster.ID, *corev1alpha1.Account) error {
	f.finalizerFreed = true
	return nil
}

func (f *fakeAccounts) ListChildren(context.Context, cluster.ID) ([]corev1alpha1.Account, error) {
	return f.children, nil
}

func (f *fakeAccounts) Delete(_ context.Context, _ cluster.ID, name string) error {
	f.deleted = append(f.deleted, name)
	return nil
}

type fakeContent struct {
	deleteAll int
}

func (f *fakeContent) Purge(context.Context, cluster.ID, string) error {
	f.deleteAll++
	return nil
}

type fakeIndex map[string]cluster.ID

func (f fakeIndex) Resolve(p string) (cluster.ID, bool) {
	id, ok := f[p]
	return id, ok
}

func account(phase corev1alpha1.AccountPhase, deleting bool) *corev1alpha1.Account {
	acc := &corev1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 1, Finalizers: []string{corev1alpha1.AccountFinalizer}},
		Status: corev1alpha1.AccountStatus{
			Phase: phase, ClusterID: "acmeid", Path: "root:acme", URL: "https://h/clusters/root:acme",
		},
	}
	if deleting {
		now := metav1.Now()
		acc.DeletionTimestamp = &now
	}
	return acc
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	indexed := fakeIndex{"root:acme": "acmeid"}
	for _, tc := range []struct {
		name     string
		acc      *corev1alpha1.Account
		index    fakeIndex
		accounts *fakeAccounts
		content  *fakeContent

		wantErr       bool
		wantRequeue   bool
		wantPhase     corev1alpha1.AccountPhase // of the written status; "" means no status write
		wantReason    string
		wantDeleted   []string
		wantDeleteAll int
		wantReleased  bool
	}{{
		name: "initialized and indexed becomes ready", acc: account(corev1alpha1.AccountPhaseInitializing, false), index: indexed,
		accounts: &fakeAccounts{}, content: &fakeContent{},
		wantPhase: corev1alpha1.AccountPhaseReady, wantReason: corev1alpha1.AccountReasonReady,
	}, {
		name: "pending initializers keep it initializing", acc: func() *corev1alpha1.Account {
			acc := account(corev1alpha1.AccountPhaseInitializing, false)
			acc.Status.Initializers = []string{"example.com/slow"}
			return acc
		}(), index: indexed, accounts: &fakeAccounts{}, content: &fakeContent{},
		wantPhase: corev1alpha1.AccountPhaseInitializing, wantReason: corev1alpha1.AccountReasonInitializersPending,
	}, {
		name: "not yet indexed waits without touching the account", acc: account(corev1alpha1.AccountPhaseInitializing, false), index: fakeIndex{},
		accounts: &fakeAccounts{}, content: &fakeContent{},
		wantRequeue: true,
	}, {
		name: "ready account with a current status writes nothing", acc: func() *corev1alpha1.Account {
			acc := account(corev1alpha1.AccountPhaseReady, false)
			setCondition(&acc.Status, 1, corev1alpha1.AccountConditionInitialized, metav1.ConditionTrue, corev1alpha1.AccountReasonInitialized, "all initializers have finished")
			setCondition(&acc.Status, 1, corev1alpha1.AccountConditionReady, metav1.ConditionTrue, corev1alpha1.AccountReasonReady, "the account is ready")
			return acc
		}(), index: indexed, accounts: &fakeAccounts{}, content: &fakeContent{},
	}, {
		name: "terminating with children deletes them and waits", acc: account(corev1alpha1.AccountPhaseReady, true), index: indexed,
		accounts: &fakeAccounts{children: []corev1alpha1.Account{{ObjectMeta: metav1.ObjectMeta{Name: "kid"}}}}, content: &fakeContent{},
		wantRequeue: true, wantPhase: corev1alpha1.AccountPhaseTerminating, wantReason: corev1alpha1.AccountReasonChildrenRemaining,
		wantDeleted: []string{"kid"},
	}, {
		name: "terminators pending keep the content", acc: func() *corev1alpha1.Account {
			acc := account(corev1alpha1.AccountPhaseTerminating, true)
			acc.Status.Terminators = []string{"example.com/archive"}
			return acc
		}(), index: indexed, accounts: &fakeAccounts{}, content: &fakeContent{},
		wantPhase: corev1alpha1.AccountPhaseTerminating, wantReason: corev1alpha1.AccountReasonTerminatorsPending,
	}, {
		name: "terminating and empty is released without a status write", acc: account(corev1alpha1.AccountPhaseTerminating, true), index: indexed,
		accounts: &fakeAccounts{}, content: &fakeContent{},
		wantDeleteAll: 1, wantReleased: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &reconciler{
				parent: "rootid", accounts: tc.accounts, content: tc.content, index: tc.index,
				childCheckDelay: time.Millisecond, baseURL: "https://h",
			}
			requeue, err := r.reconcile(t.Context(), tc.acc)
			require.Equal(t, tc.wantErr, err != nil, "error: %v", err)
			require.Equal(t, tc.wantRequeue, requeue > 0)
			if tc.wantPhase == "" {
				require.Nil(t, tc.accounts.statusWritten, "unexpected status write")
			} else {
				require.NotNil(t, tc.accounts.statusWritten)
				st := tc.accounts.statusWritten.Status
				require.Equal(t, tc.wantPhase, st.Phase)
				found := false
				for _, c := range st.Conditions {
					found = found || c.Reason == tc.wantReason
				}
				require.True(t, found, "no condition with reason %s in %+v", tc.wantReason, st.Conditions)
			}
			require.Equal(t, tc.wantDeleted, tc.accounts.deleted)
			require.Equal(t, tc.wantDeleteAll, tc.content.deleteAll)
			require.Equal(t, tc.wantReleased, tc.accounts.finalizerFreed)
		})
	}
}

func TestReconcileKeepsURLCurrent(t *testing.T) {
	t.Parallel()
	acc := account(corev1alpha1.AccountPhaseReady, false)
	setCondition(&acc.Status, 1, corev1alpha1.AccountConditionReady, metav1.ConditionTrue, corev1alpha1.AccountReasonReady, "the account is ready")
	accounts := &fakeAccounts{}
	r := &reconciler{parent: "rootid", accounts: accounts, content: &fakeContent{}, index: fakeIndex{"root:acme": "acmeid"}, baseURL: "https://new:1"}
	_, err := r.reconcile(t.Context(), acc)
	require.NoError(t, err)
	require.NotNil(t, accounts.statusWritten)
	require.Equal(t, "https://new:1/clusters/root:acme", accounts.statusWritten.Status.URL)
	require.True(t, meta.IsStatusConditionTrue(accounts.statusWritten.Status.Conditions, corev1alpha1.AccountConditionReady))
}

func TestReconcileRunsItsInitializers(t *testing.T) {
	t.Parallel()
	var ran []string
	work := func(name string, err error) Initializer {
		return Initializer{Name: name, Work: func(context.Context, *corev1alpha1.Account) error {
			ran = append(ran, name)
			return err
		}}
	}
	for _, tc := range []struct {
		name         string
		pending      []string
		initializers []Initializer
		wantRan      []string
		wantPending  []string
		wantPhase    corev1alpha1.AccountPhase
		wantErr      bool
	}{
		{"all ours: ready in one write", []string{"a", "b"}, []Initializer{work("a", nil), work("b", nil)}, []string{"a", "b"}, nil, corev1alpha1.AccountPhaseReady, false},
		{"an external one is left", []string{"a", "ext"}, []Initializer{work("a", nil)}, []string{"a"}, []string{"ext"}, corev1alpha1.AccountPhaseInitializing, false},
		{"a failure keeps what finished", []string{"a", "b"}, []Initializer{work("a", nil), work("b", errors.New("boom"))}, []string{"a", "b"}, []string{"b"}, corev1alpha1.AccountPhaseInitializing, true},
		{"nothing of ours", []string{"ext"}, []Initializer{work("a", nil)}, nil, []string{"ext"}, corev1alpha1.AccountPhaseInitializing, false},
	} {
		ran = nil
		acc := account(corev1alpha1.AccountPhaseInitializing, false)
		acc.Status.Initializers = tc.pending
		accounts := &fakeAccounts{}
		r := &reconciler{
			initializers: tc.initializers, parent: "rootid", accounts: accounts, content: &fakeContent{},
			index: fakeIndex{"root:acme": "acmeid"}, baseURL: "https://h",
		}
		_, err := r.reconcile(t.Context(), acc)
		require.Equal(t, tc.wantErr, err != nil, "%s: %v", tc.name, err)
		require.Equal(t, tc.wantRan, ran, tc.name)
		require.NotNil(t, accounts.statusWritten, tc.name)
		require.ElementsMatch(t, tc.wantPending, accounts.statusWritten.Status.Initializers, tc.name)
		require.Equal(t, tc.wantPhase, accounts.statusWritten.Status.Phase, tc.name)
	}
}
