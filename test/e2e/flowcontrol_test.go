package e2e

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

// flowSchemaHeader is the response header in which priority and fairness names the FlowSchema
// that classified a request.
const flowSchemaHeader = "X-Kubernetes-PF-FlowSchema-UID"

// apfLevel creates, in the root account, a priority level with three seats that borrows none
// and queues at most five requests per queue, and a FlowSchema that puts the requests of group
// there, one flow per user. It returns the FlowSchema's UID; both are deleted after the test.
func apfLevel(t *testing.T, group string) string {
	t.Helper()
	ctx := t.Context()
	fc := server.Root(t).Kube.FlowcontrolV1()
	_, err := fc.PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: group},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To[int32](1),
				LendablePercent:          ptr.To[int32](0),
				BorrowingLimitPercent:    ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{
					Type:    flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 64, HandSize: 4, QueueLengthLimit: 5},
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	fs, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: group},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: group},
			MatchingPrecedence:         50,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: group}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}, ClusterScope: true,
				}},
			}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, err := range []error{
			fc.FlowSchemas().Delete(ctx, group, metav1.DeleteOptions{}),
			fc.PriorityLevelConfigurations().Delete(ctx, group, metav1.DeleteOptions{}),
		} {
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("failed to clean up priority and fairness objects: %v", err)
			}
		}
	})
	return string(fs.UID)
}

// rawGetter sends GETs with the credentials of cfg and no client-side retries, so that a 429
// is seen as a 429.
type rawGetter struct {
	host   string
	client *http.Client
}

func newRawGetter(t testing.TB, cfg *rest.Config) *rawGetter {
	t.Helper()
	c, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	return &rawGetter{host: cfg.Host, client: c}
}

// get returns the status code and the FlowSchema header of a GET of path; 0 on a transport error.
func (g *rawGetter) get(ctx context.Context, path string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.host+path, nil)
	if err != nil {
		return 0, ""
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, ""
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(flowSchemaHeader)
}

// TestFlowControlIsolatesAccounts floods one account with requests beyond its priority level's
// seats and queues: the flood gets 429s while a user of another account, classified by the
// same FlowSchema into the same priority level, gets every request answered. Requests of
// different accounts are different flows, even for the same user name.
func TestFlowControlIsolatesAccounts(t *testing.T) {
	t.Parallel()
	flooded, quiet := server.NewAccount(t, "root"), server.NewAccount(t, "root")
	group := framework.RandomName("e2e-apf-")
	grantRole(t, flooded, "view", "--group="+group, false)
	grantRole(t, quiet, "view", "--group="+group, false)
	schemaUID := apfLevel(t, group)

	// The same user name in both accounts: only the account tells the flows apart.
	flooder := newRawGetter(t, userConfig(t, flooded.Path, "tenant-user", group))
	reader := newRawGetter(t, userConfig(t, quiet.Path, "tenant-user", group))
	const path = "/api/v1/namespaces/default/configmaps"
	for _, g := range []*rawGetter{flooder, reader} {
		framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
			code, uid := g.get(ctx, path)
			return code == http.StatusOK && uid == schemaUID, nil
		}, "requests are never allowed and classified by FlowSchema %s", group)
	}

	ctx, stop := context.WithCancel(t.Context())
	var rejected atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if code, _ := flooder.get(ctx, path); code == http.StatusTooManyRequests {
					rejected.Add(1)
				}
			}
		})
	}
	defer func() {
		stop()
		wg.Wait()
	}()
	framework.Eventually(t, time.Minute, func(context.Context) (bool, error) {
		return rejected.Load() > 0, nil
	}, "the flood never filled its queues")

	codes := map[int]int{}
	for range 30 {
		code, uid := reader.get(t.Context(), path)
		require.Equal(t, schemaUID, uid, "the quiet account's request is in the flooded priority level")
		codes[code]++
	}
	require.Equal(t, map[int]int{http.StatusOK: 30}, codes, "status codes in the quiet account during the flood")
	require.Positive(t, rejected.Load())
}

// TestFlowControlIsPlatformConfiguration: FlowSchemas are the platform's. Every account serves
// the root account's objects, and only those who may write the root may change them: an
// account's admin may not.
func TestFlowControlIsPlatformConfiguration(t *testing.T) {
	t.Parallel()
	acc := server.NewAccount(t, "root")
	fs, err := acc.Kube.FlowcontrolV1().FlowSchemas().Get(t.Context(), "global-default", metav1.GetOptions{})
	require.NoError(t, err)
	rootFS, err := server.Root(t).Kube.FlowcontrolV1().FlowSchemas().Get(t.Context(), "global-default", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, rootFS.UID, fs.UID, "an account serves the root's FlowSchemas")

	admin := framework.RandomName("acct-admin-")
	grantRole(t, acc, "admin", "--user="+admin, false)
	kube, err := kubernetes.NewForConfig(userConfig(t, acc.Path, admin))
	require.NoError(t, err)
	framework.Eventually(t, grantTimeout, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	}, "the account admin's grant never arrives")
	_, err = kube.FlowcontrolV1().FlowSchemas().Create(t.Context(), &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: framework.RandomName("evil-")},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "exempt"},
			MatchingPrecedence:         3,
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: admin}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}}},
			}},
		},
	}, metav1.CreateOptions{})
	require.True(t, apierrors.IsForbidden(err), "an account admin creates a FlowSchema: %v", err)
	_, err = kube.FlowcontrolV1().FlowSchemas().Patch(t.Context(), "exempt", types.MergePatchType,
		[]byte(`{"spec":{"matchingPrecedence":2}}`), metav1.PatchOptions{})
	require.True(t, apierrors.IsForbidden(err), "an account admin patches the exempt FlowSchema: %v", err)

	// Through its own account, a sibling or an account that does not exist, the admin gets the
	// same answer: the platform's objects tell nothing about accounts.
	sibling := server.NewAccount(t, "root")
	var bodies []string
	for _, path := range []string{acc.Path, sibling.Path, "root:" + framework.RandomName("nosuch-")} {
		cfg := userConfig(t, path, admin)
		k, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		body, err := k.FlowcontrolV1().RESTClient().Get().Resource("flowschemas").DoRaw(t.Context())
		require.True(t, apierrors.IsForbidden(err), "list FlowSchemas through %s: %v", path, err)
		bodies = append(bodies, string(body))
	}
	require.Equal(t, bodies[0], bodies[1])
	require.Equal(t, bodies[0], bodies[2])

	// Bad input is refused with the field named, and nothing is stored.
	name := framework.RandomName("bad-")
	_, err = server.Root(t).Kube.FlowcontrolV1().PriorityLevelConfigurations().Create(t.Context(), &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{
				Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 2, HandSize: 4, QueueLengthLimit: 5},
			}}},
	}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "a hand larger than its queues: %v", err)
	require.Contains(t, err.Error(), "spec.limited.limitResponse.queuing.handSize")
	_, err = server.Root(t).Kube.FlowcontrolV1().PriorityLevelConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the invalid priority level is not stored: %v", err)
}

// BenchmarkFlowControlNeighbourGet measures GETs of a ConfigMap list by a tenant user of one
// account, first with the server otherwise idle, then while a user of another account floods
// it from 64 connections at full speed. Both users fall under the default FlowSchemas
// (global-default); only the account tells their flows apart.
//
//	go test ./test/e2e -run '^$' -bench FlowControlNeighbourGet -benchtime 2000x
func BenchmarkFlowControlNeighbourGet(b *testing.B) {
	flooded, quiet := server.NewAccount(b, "root"), server.NewAccount(b, "root")
	grantRole(b, flooded, "view", "--user=tenant-user", false)
	grantRole(b, quiet, "view", "--user=tenant-user", false)
	flooder := newRawGetter(b, userConfig(b, flooded.Path, "tenant-user"))
	reader := newRawGetter(b, userConfig(b, quiet.Path, "tenant-user"))
	const path = "/api/v1/namespaces/default/configmaps"
	for _, g := range []*rawGetter{flooder, reader} {
		framework.Eventually(b, grantTimeout, func(ctx context.Context) (bool, error) {
			code, _ := g.get(ctx, path)
			return code == http.StatusOK, nil
		}, "the grant never arrives")
	}
	measure := func(b *testing.B) {
		b.Helper()
		latencies := make([]time.Duration, 0, b.N)
		failed := 0
		for b.Loop() {
			start := time.Now()
			if code, _ := reader.get(b.Context(), path); code != http.StatusOK {
				failed++
			}
			latencies = append(latencies, time.Since(start))
		}
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(failed), "failed")
	}
	b.Run("quiet", measure)
	b.Run("flooded", func(b *testing.B) {
		ctx, stop := context.WithCancel(b.Context())
		var flood, rejected atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for ctx.Err() == nil {
					code, _ := flooder.get(ctx, path)
					flood.Add(1)
					if code == http.StatusTooManyRequests {
						rejected.Add(1)
					}
				}
			})
		}
		measure(b)
		stop()
		wg.Wait()
		b.ReportMetric(float64(flood.Load())/b.Elapsed().Seconds(), "flood-req/s")
		b.ReportMetric(float64(rejected.Load()), "flood-429s")
	})
}

// TestFlowControlTenantKubeSystem: a ServiceAccount in an account's own kube-system is a
// tenant's, not the platform's: its requests are not classified by the FlowSchema for
// kube-system's ServiceAccounts (workload-high) but by the one for all ServiceAccounts.
func TestFlowControlTenantKubeSystem(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	acc := server.NewAccount(t, "root")
	_, err := acc.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = acc.Kube.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sneaky"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := acc.Kube.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "sneaky", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	schemas := server.Root(t).Kube.FlowcontrolV1().FlowSchemas()
	kubeSystem, err := schemas.Get(ctx, "kube-system-service-accounts", metav1.GetOptions{})
	require.NoError(t, err)
	serviceAccounts, err := schemas.Get(ctx, "service-accounts", metav1.GetOptions{})
	require.NoError(t, err)

	g := newRawGetter(t, server.TokenConfig(acc.Path, tr.Status.Token))
	_, uid := g.get(ctx, "/api/v1/namespaces/kube-system/configmaps")
	require.NotEqual(t, string(kubeSystem.UID), uid, "a tenant's kube-system ServiceAccount is classified as the platform's")
	require.Equal(t, string(serviceAccounts.UID), uid)
}
