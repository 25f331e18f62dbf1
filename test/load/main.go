// Command load is the account load benchmark: it starts an Account Mesh server (or uses one
// given by --kubeconfig), creates accounts with parallel workers, measures how fast they become
// Ready, the latency of create/get/list inside accounts, and the server's memory per account.
//
//	go run ./test/load --accounts 2000 --objects 10
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/accountmesh/accountmesh/pkg/etcd"
	"github.com/accountmesh/accountmesh/test/e2e/framework"
)

type options struct {
	accounts    int
	objects     int
	workers     int
	kubeconfig  string
	profileDir  string
	restart     bool
	delete      bool
	keepEtcd    bool
	layout      string
	branching   int
	settle      time.Duration
	crds        int
	crdIdentity string
	crdFile     string
	bindings    int
	managed     bool
	// fanInDuration is how long each write rate of the view fan-in benchmark runs.
	fanInDuration time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.accounts, "accounts", 2000, "Number of accounts to create under root.")
	flag.IntVar(&o.objects, "objects", 10, "ConfigMaps to create, get and list in each sampled account.")
	flag.IntVar(&o.workers, "workers", 32, "Parallel client workers.")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Admin kubeconfig of a running server; empty starts one (needed for memory figures).")
	flag.StringVar(&o.profileDir, "profile-dir", "", "Write CPU (account phase) and heap profiles of the server here.")
	flag.BoolVar(&o.restart, "restart", false, "Restart the server after the accounts exist and report the time to ready.")
	flag.BoolVar(&o.delete, "delete", false, "Delete all accounts at the end and report how long it takes.")
	flag.BoolVar(&o.keepEtcd, "external-etcd", false, "Run etcd in this process and print its endpoint, so storage can be inspected.")
	flag.StringVar(&o.layout, "layout", "root", "Where accounts go: root (orgs under root), flat (accounts under one org) or tree (under one org, --branching children each).")
	flag.IntVar(&o.branching, "branching", 10, "Children per account in the tree layout.")
	flag.DurationVar(&o.settle, "settle", 0, "Also measure memory this long after the accounts are Ready, once the watch history of the burst has expired (it keeps 75 s).")
	flag.IntVar(&o.crds, "crds", 0, "Create one CRD in each of this many accounts and measure time to Established and discoverable, memory and custom resource latency.")
	flag.StringVar(&o.crdIdentity, "crd-identity", "shared", "shared: every account gets the same CRD; distinct: each its own group.")
	flag.StringVar(&o.crdFile, "crd-file", "", "With --crds: apply this CRD (YAML) in every account instead of the built-in one; reports establishment and memory only.")
	flag.IntVar(&o.bindings, "bindings", 0, "Publish an export in the first account and bind it in this many others; report bind-to-usable latency and memory per binding.")
	flag.BoolVar(&o.managed, "managed", false, "With --bindings: the export is a Shared managed service; also report bind-to-connected latency (ServiceConnected=True) and memory per consumer organisation (shadow account, tenant space and binding; in the root layout every account is an organisation).")
	flag.DurationVar(&o.fanInDuration, "view-fan-in", 0, "With --bindings: watch every consumer's Database through the provider view and update them at 100, 500 and 1000 writes/s for this long each.")
	flag.Parse()
	err := run(context.Background(), o)
	framework.Cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	var pid int
	var srv *framework.Server
	kubeconfig := o.kubeconfig
	if kubeconfig == "" {
		dir, err := os.MkdirTemp("", "accountmesh-load-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		var extra []string
		if o.keepEtcd {
			e, err := etcd.StartEmbedded(ctx, filepath.Join(dir, "etcd-external"))
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Printf("etcd endpoint: %s\n", e.Endpoint)
			extra = append(extra, "--etcd-servers", e.Endpoint)
		}
		start := time.Now()
		s, err := framework.StartServer(ctx, dir, extra...)
		if err != nil {
			return err
		}
		defer s.Stop()
		srv = s
		fmt.Printf("server ready in %s (fresh root dir, embedded etcd)\n", time.Since(start).Round(time.Millisecond))
		kubeconfig, pid = s.Kubeconfig, s.PID()
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	base := strings.TrimSuffix(cfg.Host, "/clusters/root")

	time.Sleep(2 * time.Second) // let start-up allocations settle before the baseline
	before := readMemory(ctx, cfg, pid)
	fmt.Printf("server memory idle: %s\n", before)

	var cpuProfile *profile
	if o.profileDir != "" {
		cpuProfile = startCPUProfile(ctx, cfg, o.profileDir)
	}
	names, elapsed, readyLatencies, err := createAccounts(ctx, cfg, base, o)
	if err != nil {
		return err
	}
	if cpuProfile != nil {
		cpuProfile.wait()
	}
	fmt.Printf("accounts (%s layout): %d Ready in %s: %.0f accounts/s; create→Ready p50 %s p99 %s\n",
		o.layout, len(names), elapsed.Round(time.Millisecond), float64(len(names))/elapsed.Seconds(),
		percentile(readyLatencies, 50), percentile(readyLatencies, 99))

	time.Sleep(2 * time.Second)
	after := readMemory(ctx, cfg, pid)
	fmt.Printf("server memory with %d empty accounts: %s\n", len(names), after)
	if pid > 0 {
		fmt.Printf("per empty account: RSS %.1f KiB, Go heap in use %.1f KiB\n",
			float64(after.rss-before.rss)/1024/float64(len(names)),
			float64(after.heapInUse-before.heapInUse)/1024/float64(len(names)))
	}
	if o.settle > 0 {
		time.Sleep(o.settle)
		settled := readMemory(ctx, cfg, pid)
		fmt.Printf("server memory %s after the burst: %s\n", o.settle, settled)
		if pid > 0 {
			fmt.Printf("per empty account after %s: RSS %.1f KiB, Go heap in use %.1f KiB\n", o.settle,
				float64(settled.rss-before.rss)/1024/float64(len(names)),
				float64(settled.heapInUse-before.heapInUse)/1024/float64(len(names)))
		}
	}
	if o.profileDir != "" {
		saveProfile(ctx, cfg, "/debug/pprof/heap", filepath.Join(o.profileDir, "heap.pprof"))
	}
	if err := objectLatencies(ctx, cfg, base, names, o); err != nil {
		return err
	}
	if o.crds > 0 {
		if err := crdBenchmark(ctx, cfg, base, names, pid, o); err != nil {
			return err
		}
	}
	if o.bindings > 0 {
		if err := bindingBenchmark(ctx, cfg, base, names, pid, o); err != nil {
			return err
		}
	}
	if o.restart && srv != nil {
		srv.Stop()
		start := time.Now()
		if err := srv.Start(ctx); err != nil {
			return err
		}
		fmt.Printf("restart with %d accounts: ready in %s\n", len(names), time.Since(start).Round(time.Millisecond))
		// The new process listens on a new port.
		if cfg, err = clientcmd.BuildConfigFromFlags("", srv.Kubeconfig); err != nil {
			return err
		}
		cfg.QPS, cfg.Burst = -1, 0
		fmt.Printf("server memory after restart: %s\n", readMemory(ctx, cfg, srv.PID()))
	}
	if o.delete {
		return deleteAccounts(ctx, cfg, names, o)
	}
	return nil
}

// deleteAccounts deletes the accounts and waits until all Account objects are gone: one by one
// in the root layout, by deleting the org otherwise, which deletes the tree bottom-up.
func deleteAccounts(ctx context.Context, cfg *rest.Config, paths []string, o options) error {
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	accounts := d.Resource(framework.AccountsGVR)
	start := time.Now()
	names := []string{loadOrg}
	if o.layout == "root" {
		names = names[:0]
		for _, p := range paths {
			names = append(names, strings.TrimPrefix(p, "root:"))
		}
	}
	_ = forEach(names, o.workers, func(_ int, name string) error {
		_ = accounts.Delete(ctx, name, metav1.DeleteOptions{})
		return nil
	})
	requested := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		list, err := accounts.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d accounts still exist after 10 minutes", len(list.Items))
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("delete %d accounts: requested in %s, all gone in %s\n", len(paths), requested.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// loadOrg is the org that holds the accounts of the flat and tree layouts.
const loadOrg = "load-org"

// plan returns the accounts to create, level by level: a level's accounts are created once
// their parents, in the level before, are Ready.
func plan(o options) [][]string {
	name := func(i int) string { return fmt.Sprintf("load-%06d", i) }
	var levels [][]string
	switch o.layout {
	case "flat", "tree":
		parents := []string{"root:" + loadOrg}
		branching := o.accounts
		if o.layout == "tree" {
			branching = o.branching
		}
		for n := 0; n < o.accounts; {
			var level, next []string
			for _, parent := range parents {
				for b := 0; b < branching && n < o.accounts; b++ {
					p := parent + ":" + name(n)
					level = append(level, p)
					next = append(next, p)
					n++
				}
			}
			levels = append(levels, level)
			parents = next
		}
	default:
		var level []string
		for n := range o.accounts {
			level = append(level, "root:"+name(n))
		}
		levels = append(levels, level)
	}
	return levels
}

// createAccounts creates the accounts of the layout and waits until all are Ready. It returns
// their paths, the time it took and each account's time from create to Ready.
func createAccounts(ctx context.Context, cfg *rest.Config, base string, o options) ([]string, time.Duration, []time.Duration, error) {
	client := func(pathOrID string) (dynamic.Interface, error) {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + pathOrID
		return dynamic.NewForConfig(c)
	}
	if o.layout == "flat" || o.layout == "tree" {
		if _, _, err := createLevel(ctx, client, []string{"root:" + loadOrg}, 1); err != nil {
			return nil, 0, nil, err
		}
	}
	var paths []string
	var latencies []time.Duration
	start := time.Now()
	for _, level := range plan(o) {
		lat, _, err := createLevel(ctx, client, level, o.workers)
		if err != nil {
			return nil, 0, nil, err
		}
		paths = append(paths, level...)
		latencies = append(latencies, lat...)
	}
	return paths, time.Since(start), latencies, nil
}

// createLevel creates the accounts at paths with parallel workers and waits until all are
// Ready, watching across all accounts.
func createLevel(ctx context.Context, client func(string) (dynamic.Interface, error), paths []string, workers int) ([]time.Duration, time.Duration, error) {
	all, err := client("*")
	if err != nil {
		return nil, 0, err
	}
	accounts := all.Resource(framework.AccountsGVR)
	index := map[string]int{}
	for i, p := range paths {
		index[p] = i
	}
	created := make([]time.Time, len(paths))
	var mu sync.Mutex
	start := time.Now()
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients := map[string]dynamic.Interface{}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(paths) {
					return
				}
				parent, name := paths[i][:strings.LastIndex(paths[i], ":")], paths[i][strings.LastIndex(paths[i], ":")+1:]
				d, ok := clients[parent]
				if !ok {
					if d, err = client(parent); err != nil {
						errs <- err
						return
					}
					clients[parent] = d
				}
				obj := &unstructured.Unstructured{}
				obj.SetAPIVersion("core.accountmesh.io/v1alpha1")
				obj.SetKind("Account")
				obj.SetName(name)
				mu.Lock()
				created[i] = time.Now()
				mu.Unlock()
				if _, err := d.Resource(framework.AccountsGVR).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("failed to create account %s: %w", paths[i], err)
					return
				}
			}
		}()
	}

	ready := make([]time.Duration, 0, len(paths))
	seen := map[string]bool{}
	observe := func(u *unstructured.Unstructured) {
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		p, _, _ := unstructured.NestedString(u.Object, "status", "path")
		i, ok := index[p]
		if phase != "Ready" || !ok || seen[p] {
			return
		}
		seen[p] = true
		mu.Lock()
		ready = append(ready, time.Since(created[i]))
		mu.Unlock()
	}
	deadline := time.Now().Add(time.Duration(len(paths))*50*time.Millisecond + time.Minute)
	// Like an informer: list, then watch from the list's resourceVersion; list again whenever
	// the server closes the watch (it drops watchers that fall behind).
	for len(ready) < len(paths) {
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("only %d of %d accounts became Ready in time", len(ready), len(paths))
		}
		list, err := accounts.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, 0, err
		}
		for i := range list.Items {
			observe(&list.Items[i])
		}
		w, err := accounts.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			return nil, 0, err
		}
		func() {
			defer w.Stop()
			for len(ready) < len(paths) {
				select {
				case err := <-errs:
					errs <- err
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if u, isU := ev.Object.(*unstructured.Unstructured); isU && (ev.Type == watch.Added || ev.Type == watch.Modified) {
						observe(u)
					}
				}
			}
		}()
		select {
		case err := <-errs:
			return nil, 0, err
		default:
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	return ready, elapsed, nil
}

// objectLatencies creates, gets and lists ConfigMaps inside a sample of the accounts.
func objectLatencies(ctx context.Context, cfg *rest.Config, base string, names []string, o options) error {
	sample := names
	if len(sample) > 200 {
		sample = sample[:200]
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	record := func(op string, d time.Duration) {
		mu.Lock()
		lat[op] = append(lat[op], d)
		mu.Unlock()
	}
	err := forEach(sample, o.workers, func(_ int, path string) error {
		c := rest.CopyConfig(cfg)
		c.Host = base + "/clusters/" + path
		kube, err := kubernetes.NewForConfig(c)
		if err != nil {
			return err
		}
		cms := kube.CoreV1().ConfigMaps("default")
		for j := range o.objects {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + strconv.Itoa(j)}, Data: map[string]string{"k": "v"}}
			t := time.Now()
			if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				return err
			}
			record("create", time.Since(t))
		}
		for j := range o.objects {
			t := time.Now()
			if _, err := cms.Get(ctx, "cm-"+strconv.Itoa(j), metav1.GetOptions{}); err != nil {
				return err
			}
			record("get", time.Since(t))
		}
		for range o.objects {
			t := time.Now()
			if _, err := cms.List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
			record("list", time.Since(t))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, op := range []string{"create", "get", "list"} {
		fmt.Printf("%-6s in an account (%d objects, %d accounts, %d workers): n=%d p50 %s p99 %s\n",
			op, o.objects, len(sample), o.workers, len(lat[op]), percentile(lat[op], 50), percentile(lat[op], 99))
	}
	return nil
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond)
}

type memory struct {
	rss       int64
	heapInUse int64
}

func (m memory) String() string {
	return fmt.Sprintf("RSS %.1f MiB, Go heap in use %.1f MiB", float64(m.rss)/(1<<20), float64(m.heapInUse)/(1<<20))
}

// readMemory reads the server's RSS from /proc and its heap in use from /metrics.
func readMemory(ctx context.Context, cfg *rest.Config, pid int) memory {
	var m memory
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
					kb, _ := strconv.ParseInt(f[1], 10, 64)
					m.rss = kb * 1024
				}
			}
		}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return m
	}
	body, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "go_memstats_heap_inuse_bytes ") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			m.heapInUse = int64(v)
		}
	}
	return m
}

type profile struct{ done chan struct{} }

func (p *profile) wait() { <-p.done }

// startCPUProfile records a 10s CPU profile of the server while accounts are created.
func startCPUProfile(ctx context.Context, cfg *rest.Config, dir string) *profile {
	p := &profile{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		saveProfile(ctx, cfg, "/debug/pprof/profile?seconds=10", filepath.Join(dir, "cpu.pprof"))
	}()
	return p
}

func saveProfile(ctx context.Context, cfg *rest.Config, path, file string) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	body, err := kube.Discovery().RESTClient().Get().RequestURI(path).DoRaw(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed to fetch %s: %v\n", path, err)
		return
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err == nil {
		_ = os.WriteFile(file, body, 0o644)
		fmt.Printf("wrote %s\n", file)
	}
}
