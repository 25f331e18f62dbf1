package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// benchGroup is the group of the benchmark's exported resource.
const benchGroup = "bench-db.example.com"

var (
	schemasGVR  = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apiresourceschemas"}
	exportsGVR  = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apiexports"}
	bindingsGVR = schema.GroupVersionResource{Group: "apis.accountmesh.io", Version: "v1alpha1", Resource: "apibindings"}
)

// benchSchema is an APIResourceSchema of databases with three versions and a CEL rule.
func benchSchema() *unstructured.Unstructured {
	version := func(name string, storage bool) map[string]interface{} {
		return map[string]interface{}{
			"name": name, "served": true, "storage": storage,
			"subresources": map[string]interface{}{"status": map[string]interface{}{}},
			"schema": map[string]interface{}{"openAPIV3Schema": map[string]interface{}{
				"type": "object",
				"properties": map[string]interface{}{
					"spec": map[string]interface{}{
						"type": "object",
						"properties": map[string]interface{}{
							"engine":   map[string]interface{}{"type": "string", "enum": []interface{}{"postgres", "mysql"}, "default": "postgres"},
							"replicas": map[string]interface{}{"type": "integer", "minimum": int64(1)},
						},
						"x-kubernetes-validations": []interface{}{map[string]interface{}{"rule": "!has(self.replicas) || self.replicas <= 9", "message": "at most 9 replicas"}},
					},
					"status": map[string]interface{}{"type": "object", "properties": map[string]interface{}{"endpoint": map[string]interface{}{"type": "string"}}},
				},
			}},
		}
	}
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIResourceSchema",
		"metadata": map[string]interface{}{"name": "v1.databases." + benchGroup},
		"spec": map[string]interface{}{
			"group": benchGroup, "scope": "Namespaced",
			"names":    map[string]interface{}{"plural": "databases", "singular": "database", "kind": "Database", "listKind": "DatabaseList"},
			"versions": []interface{}{version("v1alpha1", false), version("v1beta1", false), version("v1", true)},
		},
	}}
}

// bindingBenchmark publishes an export in the first account and binds it in the next
// o.bindings accounts in parallel. It reports the time from creating a binding to listing the
// bound resource in the account, and to finding it in the account's discovery, and the server
// memory per binding.
func bindingBenchmark(ctx context.Context, cfg *rest.Config, base string, names []string, pid int, o options) error {
	if len(names) < o.bindings+1 {
		return fmt.Errorf("--bindings %d needs at least %d accounts", o.bindings, o.bindings+1)
	}
	provider, consumers := names[0], names[1:o.bindings+1]
	clientFor := func(path string) (dynamic.Interface, kubernetes.Interface, error) {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + path
		d, err := dynamic.NewForConfig(c)
		if err != nil {
			return nil, nil, err
		}
		k, err := kubernetes.NewForConfig(c)
		return d, k, err
	}
	p, _, err := clientFor(provider)
	if err != nil {
		return err
	}
	if _, err := p.Resource(schemasGVR).Create(ctx, benchSchema(), metav1.CreateOptions{}); err != nil {
		return err
	}
	export := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIExport",
		"metadata": map[string]interface{}{"name": "db"},
		"spec": map[string]interface{}{"resources": []interface{}{map[string]interface{}{
			"group": benchGroup, "name": "databases", "schema": "v1.databases." + benchGroup,
		}}},
	}}
	if o.managed {
		export.Object["spec"].(map[string]interface{})["service"] = map[string]interface{}{
			"model": "Shared", "relatedResources": []interface{}{map[string]interface{}{"group": "", "resource": "secrets"}},
		}
	}
	if _, err := p.Resource(exportsGVR).Create(ctx, export, metav1.CreateOptions{}); err != nil {
		return err
	}
	for {
		e, err := p.Resource(exportsGVR).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if h, _, _ := unstructured.NestedString(e.Object, "status", "identityHash"); h != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	before := readMemory(ctx, cfg, pid)
	var mu sync.Mutex
	var bound, served, usable, discoverable, connected []time.Duration
	err = forEach(consumers, o.workers, func(i int, path string) error {
		d, k, err := clientFor(path)
		if err != nil {
			return err
		}
		binding := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "apis.accountmesh.io/v1alpha1", "kind": "APIBinding",
			"metadata": map[string]interface{}{"name": "db-" + strconv.Itoa(i)},
			"spec":     map[string]interface{}{"reference": map[string]interface{}{"export": map[string]interface{}{"path": provider, "name": "db"}}},
		}}
		start := time.Now()
		if _, err := d.Resource(bindingsGVR).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			return err
		}
		dbs := d.Resource(schema.GroupVersionResource{Group: benchGroup, Version: "v1", Resource: "databases"}).Namespace("default")
		// Bound: the binding's status says so. Served: a list from the watch cache succeeds.
		// Consistent: a list as kubectl sends it, which waits until the cache has caught up
		// with etcd (upstream asks etcd for progress every 100 ms). Discoverable: the
		// account's discovery has the resource.
		// Connected (managed services only): ServiceConnected=True.
		var bnd, srv, use, disc, conn time.Duration
		if !o.managed {
			conn = -1
		}
		for bnd == 0 || srv == 0 || use == 0 || disc == 0 || conn == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if bnd == 0 || conn == 0 {
				if b, err := d.Resource(bindingsGVR).Get(ctx, binding.GetName(), metav1.GetOptions{}); err == nil {
					if phase, _, _ := unstructured.NestedString(b.Object, "status", "phase"); phase == "Bound" && bnd == 0 {
						bnd = time.Since(start)
					}
					if conn == 0 && conditionTrue(b, "ServiceConnected") {
						conn = time.Since(start)
					}
				}
			}
			if srv == 0 {
				if _, err := dbs.List(ctx, metav1.ListOptions{ResourceVersion: "0"}); err == nil {
					srv = time.Since(start)
				}
			}
			if disc == 0 {
				if _, err := k.Discovery().ServerResourcesForGroupVersion(benchGroup + "/v1"); err == nil {
					disc = time.Since(start)
				}
			}
			if use == 0 {
				if _, err := dbs.List(ctx, metav1.ListOptions{}); err == nil {
					use = time.Since(start)
				}
			}
			if bnd == 0 || srv == 0 || use == 0 || disc == 0 || conn == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		mu.Lock()
		if conn > 0 {
			connected = append(connected, conn)
		}
		bound, served = append(bound, bnd), append(served, srv)
		usable, discoverable = append(usable, use), append(discoverable, disc)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("bindings of one export in %d accounts (%d workers), from create: Bound p50 %s p99 %s; served (list from cache) p50 %s p99 %s; "+
		"consistent list (kubectl get) p50 %s p99 %s; discoverable p50 %s p99 %s\n",
		len(consumers), o.workers, percentile(bound, 50), percentile(bound, 99), percentile(served, 50), percentile(served, 99),
		percentile(usable, 50), percentile(usable, 99), percentile(discoverable, 50), percentile(discoverable, 99))
	if o.managed {
		fmt.Printf("managed service: bind-to-connected (ServiceConnected=True) p50 %s p99 %s\n", percentile(connected, 50), percentile(connected, 99))
	}
	time.Sleep(2 * time.Second)
	after := readMemory(ctx, cfg, pid)
	fmt.Printf("server memory with %d bindings: %s\n", len(consumers), after)
	if pid > 0 {
		fmt.Printf("per binding: RSS %.1f KiB, Go heap in use %.1f KiB\n",
			float64(after.rss-before.rss)/1024/float64(len(consumers)), float64(after.heapInUse-before.heapInUse)/1024/float64(len(consumers)))
	}
	if o.fanInDuration > 0 {
		return viewFanIn(ctx, cfg, base, provider, consumers, o)
	}
	return nil
}

// conditionTrue reports whether an object's status has the condition with status True.
func conditionTrue(obj *unstructured.Unstructured, condition string) bool {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]interface{}); ok && m["type"] == condition && m["status"] == "True" {
			return true
		}
	}
	return false
}

// viewFanIn creates one Database in each consumer account, watches them all through the
// provider view's wildcard with one watch, and updates them round-robin at each rate for
// o.fanInDuration, reporting delivered events per second and the delay from each write to its
// event.
func viewFanIn(ctx context.Context, cfg *rest.Config, base, provider string, consumers []string, o options) error {
	gvr := schema.GroupVersionResource{Group: benchGroup, Version: "v1", Resource: "databases"}
	clients := make([]dynamic.ResourceInterface, len(consumers))
	err := forEach(consumers, o.workers, func(i int, path string) error {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + path
		d, err := dynamic.NewForConfig(c)
		if err != nil {
			return err
		}
		clients[i] = d.Resource(gvr).Namespace("default")
		_, err = clients[i].Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": benchGroup + "/v1", "kind": "Database", "metadata": map[string]interface{}{"name": "fanin"},
		}}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	v := rest.CopyConfig(cfg)
	v.Host = base + "/services/export/" + provider + "/db/clusters/*"
	vd, err := dynamic.NewForConfig(v)
	if err != nil {
		return err
	}
	list, err := vd.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(list.Items) != len(consumers) {
		return fmt.Errorf("the view lists %d databases, want %d", len(list.Items), len(consumers))
	}
	w, err := vd.Resource(gvr).Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	const stamp = "bench.accountmesh.io/written-at"
	var mu sync.Mutex
	var delays []time.Duration
	received := 0
	go func() {
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			if ns, err := strconv.ParseInt(u.GetAnnotations()[stamp], 10, 64); err == nil {
				mu.Lock()
				delays = append(delays, time.Since(time.Unix(0, ns)))
				received++
				mu.Unlock()
			}
		}
	}()
	for _, rate := range []int{100, 500, 1000} {
		mu.Lock()
		delays, received = nil, 0
		mu.Unlock()
		total := rate * int(o.fanInDuration/time.Second)
		jobs := make(chan int, total)
		start := time.Now()
		var wg sync.WaitGroup
		for range o.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range jobs {
					// Stay on schedule: write n is due at n/rate seconds.
					if d := time.Until(start.Add(time.Duration(n) * time.Second / time.Duration(rate))); d > 0 {
						time.Sleep(d)
					}
					patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"%d"}}}`, stamp, time.Now().UnixNano())
					_, _ = clients[n%len(clients)].Patch(ctx, "fanin", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
				}
			}()
		}
		for n := range total {
			jobs <- n
		}
		close(jobs)
		wg.Wait()
		written := time.Since(start)
		time.Sleep(2 * time.Second) // let the last events arrive
		mu.Lock()
		fmt.Printf("view fan-in from %d accounts, one watch, target %d writes/s: %d written in %s (%.0f/s), %d events received; write→event p50 %s p99 %s\n",
			len(consumers), rate, total, written.Round(time.Millisecond), float64(total)/written.Seconds(), received,
			percentile(delays, 50), percentile(delays, 99))
		mu.Unlock()
	}
	return nil
}
