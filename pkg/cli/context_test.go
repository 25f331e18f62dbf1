package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

func TestRenderContext(t *testing.T) {
	t.Parallel()
	member := func(name, account string, deps ...string) orchestrationv1alpha1.Member {
		return orchestrationv1alpha1.Member{Name: name, DependsOn: deps, Ref: &orchestrationv1alpha1.MemberReference{Account: account, Name: name}}
	}
	oc := &orchestrationv1alpha1.OrchestrationContext{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: []orchestrationv1alpha1.Member{
			member("gateway", "", "web"), member("web", "", "db", "queue"), member("db", "root:data"), member("queue", ""),
		}},
		Status: orchestrationv1alpha1.OrchestrationContextStatus{
			Summary: "2/4 ready",
			Conditions: []metav1.Condition{
				{Type: orchestrationv1alpha1.ConditionReady, Status: metav1.ConditionFalse},
				{Type: orchestrationv1alpha1.ConditionProgressing, Status: metav1.ConditionTrue},
			},
			Members: []orchestrationv1alpha1.MemberStatus{
				{Name: "db", Account: "root:data", Ready: true, Reason: "Ready", Message: "up"},
				{Name: "queue", Account: "root:app", Ready: true, Reason: "Ready"},
				{Name: "web", Account: "root:app", Reason: "NotReady", WaitingFor: nil},
				{Name: "gateway", Account: "root:app", Reason: "NotReady", WaitingFor: []string{"web"}},
			},
		},
	}
	var b strings.Builder
	require.NoError(t, RenderContext(&b, oc))
	require.Equal(t, `default/shop: 2/4 ready  Ready=False Progressing=True
MEMBER       ACCOUNT    STATE     NEEDS          MESSAGE
db           root:data  Ready                    up
queue        root:app   Ready                    
└─web        root:app   NotReady  db, queue      
  └─gateway  root:app   NotReady  web (waiting)  
`, b.String())
}

func TestRenderContextSelector(t *testing.T) {
	t.Parallel()
	oc := &orchestrationv1alpha1.OrchestrationContext{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet", Namespace: "default"},
		Spec: orchestrationv1alpha1.OrchestrationContextSpec{Members: []orchestrationv1alpha1.Member{
			{Name: "dbs", Selector: &orchestrationv1alpha1.MemberSelector{Account: "root:data", Subtree: true}},
			{Name: "web", DependsOn: []string{"dbs"}, Ref: &orchestrationv1alpha1.MemberReference{Name: "web"}},
		}},
		Status: orchestrationv1alpha1.OrchestrationContextStatus{
			Summary: "0/2 ready",
			Members: []orchestrationv1alpha1.MemberStatus{
				{Name: "dbs", Account: "root:data", Reason: "NotReady", Message: "1/2 matches ready"},
				{Name: "dbs/root:data/default/one", Account: "root:data", Ready: true, Reason: "Ready"},
				{Name: "dbs/root:data:team/default/two", Account: "root:data:team", Reason: "NotReady", Message: "disk full"},
				{Name: "web", Account: "root:app", Reason: "NotReady", WaitingFor: []string{"dbs"}},
			},
		},
	}
	var b strings.Builder
	require.NoError(t, RenderContext(&b, oc))
	require.Equal(t, `default/fleet: 0/2 ready  
MEMBER           ACCOUNT         STATE     NEEDS          MESSAGE
dbs              root:data       NotReady                 1/2 matches ready
  - default/one  root:data       Ready                    
  - default/two  root:data:team  NotReady                 disk full
└─web            root:app        NotReady  dbs (waiting)  
`, b.String())
}
