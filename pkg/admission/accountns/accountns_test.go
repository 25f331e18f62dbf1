package accountns

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

type cache map[cluster.ID]map[string]*corev1.Namespace

func (c cache) Cached(id cluster.ID, name string) (*corev1.Namespace, bool) {
	ns, ok := c[id][name]
	return ns, ok
}

// TestLister reads only the namespaces of its own account: another account's namespace of the
// same name is NotFound, and listing is refused.
func TestLister(t *testing.T) {
	t.Parallel()
	mine := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shared"}}
	c := cache{"a": {"shared": mine}, "b": {"other": {}}}
	ns, err := Lister(c, "a").Get("shared")
	require.NoError(t, err)
	require.Same(t, mine, ns)
	_, err = Lister(c, "b").Get("shared")
	require.True(t, apierrors.IsNotFound(err), "%v", err)
	_, err = Lister(c, "a").List(labels.Everything())
	require.Error(t, err)
}

// TestClient asks for the clients of its own account.
func TestClient(t *testing.T) {
	t.Parallel()
	var asked []string
	clients := ClientsFunc(func(c string) corev1client.CoreV1Interface {
		asked = append(asked, c)
		return nil
	})
	Client(clients, "a").CoreV1()
	Client(clients, "b").CoreV1()
	require.Equal(t, []string{"a", "b"}, asked)
}
