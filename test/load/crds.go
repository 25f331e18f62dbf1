package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// benchCRD is a namespaced CRD with a status subresource, a default and a printer column.
func benchCRD(group string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Size", Type: "integer", JSONPath: ".spec.size"}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"size": {Type: "integer", Default: &apiextensionsv1.JSON{Raw: []byte("1")}},
						}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"ready": {Type: "boolean"}}},
					},
				}},
			}},
		},
	}
}

// crdBenchmark creates one CRD in each of the first n accounts and reports the time to
// Established and to discoverable, the server memory it costs, and custom resource latency
// against ConfigMaps in the same accounts.
func crdBenchmark(ctx context.Context, cfg *rest.Config, base string, names []string, pid int, o options) error {
	accounts := names[:min(o.crds, len(names))]
	newCRD := benchCRD
	if o.crdFile != "" {
		b, err := os.ReadFile(o.crdFile)
		if err != nil {
			return err
		}
		fileCRD := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, fileCRD); err != nil {
			return fmt.Errorf("failed to decode %s: %w", o.crdFile, err)
		}
		newCRD = func(string) *apiextensionsv1.CustomResourceDefinition { return fileCRD.DeepCopy() }
	}
	before := readMemory(ctx, cfg, pid)
	var mu sync.Mutex
	var established, discoverable []time.Duration
	groupOf := func(i int) string {
		if o.crdIdentity == "distinct" {
			return "bench-" + strconv.Itoa(i) + ".example.com"
		}
		return "bench.example.com"
	}
	err := forEach(accounts, o.workers, func(i int, path string) error {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + path
		cs, err := apiextensionsclient.NewForConfig(c)
		if err != nil {
			return err
		}
		kube, err := kubernetes.NewForConfig(c)
		if err != nil {
			return err
		}
		crd := newCRD(groupOf(i))
		group := crd.Spec.Group
		start := time.Now()
		if _, err := cs.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			return err
		}
		var est, disc time.Duration
		for est == 0 || disc == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if est == 0 {
				crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
				if err == nil {
					for _, cond := range crd.Status.Conditions {
						if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
							est = time.Since(start)
						}
					}
				}
			}
			if disc == 0 {
				if _, err := kube.Discovery().ServerResourcesForGroupVersion(group + "/" + crd.Spec.Versions[0].Name); err == nil {
					disc = time.Since(start)
				}
			}
			if est == 0 || disc == 0 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		mu.Lock()
		established, discoverable = append(established, est), append(discoverable, disc)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("CRDs (%s identity) in %d accounts: create→Established p50 %s p99 %s; create→discoverable p50 %s p99 %s\n",
		o.crdIdentity, len(accounts), percentile(established, 50), percentile(established, 99),
		percentile(discoverable, 50), percentile(discoverable, 99))

	if o.profileDir != "" {
		saveProfile(ctx, cfg, "/debug/pprof/heap", filepath.Join(o.profileDir, "heap-crds.pprof"))
	}
	if o.crdFile != "" {
		time.Sleep(2 * time.Second)
		after := readMemory(ctx, cfg, pid)
		fmt.Printf("server memory with %d copies of %s: %s\n", len(accounts), o.crdFile, after)
		if pid > 0 {
			fmt.Printf("per served CRD: RSS %.1f KiB, Go heap in use %.1f KiB\n",
				float64(after.rss-before.rss)/1024/float64(len(accounts)), float64(after.heapInUse-before.heapInUse)/1024/float64(len(accounts)))
		}
		return nil
	}
	lat := map[string][]time.Duration{}
	err = forEach(accounts, o.workers, func(i int, path string) error {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + path
		d, err := dynamic.NewForConfig(c)
		if err != nil {
			return err
		}
		kube, err := kubernetes.NewForConfig(c)
		if err != nil {
			return err
		}
		widgets := d.Resource(schema.GroupVersionResource{Group: groupOf(i), Version: "v1", Resource: "widgets"}).Namespace("default")
		cms := kube.CoreV1().ConfigMaps("default")
		var local = map[string][]time.Duration{}
		for j := range o.objects {
			name := "bench-" + strconv.Itoa(j)
			w := &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": groupOf(i) + "/v1", "kind": "Widget",
				"metadata": map[string]interface{}{"name": name}, "spec": map[string]interface{}{"size": int64(j)},
			}}
			t := time.Now()
			if _, err := widgets.Create(ctx, w, metav1.CreateOptions{}); err != nil {
				return err
			}
			local["cr create"] = append(local["cr create"], time.Since(t))
			t = time.Now()
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"size": strconv.Itoa(j)}}, metav1.CreateOptions{}); err != nil {
				return err
			}
			local["cm create"] = append(local["cm create"], time.Since(t))
			t = time.Now()
			if _, err := widgets.Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
			local["cr get"] = append(local["cr get"], time.Since(t))
			t = time.Now()
			if _, err := cms.Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
			local["cm get"] = append(local["cm get"], time.Since(t))
		}
		mu.Lock()
		for k, v := range local {
			lat[k] = append(lat[k], v...)
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	for _, op := range []string{"create", "get"} {
		cr, cm := lat["cr "+op], lat["cm "+op]
		fmt.Printf("custom resource %-6s p50 %s p99 %s; ConfigMap p50 %s p99 %s; ratio p50 %.2f\n", op,
			percentile(cr, 50), percentile(cr, 99), percentile(cm, 50), percentile(cm, 99),
			float64(percentile(cr, 50))/float64(percentile(cm, 50)))
	}
	time.Sleep(2 * time.Second)
	after := readMemory(ctx, cfg, pid)
	fmt.Printf("server memory with %d served CRDs: %s\n", len(accounts), after)
	if pid > 0 {
		fmt.Printf("per served CRD (incl. %d objects each): RSS %.1f KiB, Go heap in use %.1f KiB\n", o.objects,
			float64(after.rss-before.rss)/1024/float64(len(accounts)),
			float64(after.heapInUse-before.heapInUse)/1024/float64(len(accounts)))
	}
	return nil
}

// forEach calls f for every item with the given number of workers and returns the first error.
func forEach(items []string, workers int, f func(i int, item string) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range min(workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				if err := f(i, items[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
