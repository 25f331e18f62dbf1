package orchestration

import (
	"slices"
	"strings"

	orchestrationv1alpha1 "github.com/accountmesh/accountmesh/pkg/apis/orchestration/v1alpha1"
)

// Cycle returns a dependency cycle among members as the names along it, the first repeated at
// the end (a -> b -> a), or nil when their dependencies form a directed acyclic graph.
// Dependencies on unknown members are ignored.
func Cycle(members []orchestrationv1alpha1.Member) []string {
	deps := make(map[string][]string, len(members))
	for _, m := range members {
		deps[m.Name] = m.DependsOn
	}
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(members))
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		state[name] = onPath
		path = append(path, name)
		for _, d := range deps[name] {
			if _, known := deps[d]; !known {
				continue
			}
			switch state[d] {
			case onPath:
				start := slices.Index(path, d)
				return append(slices.Clone(path[start:]), d)
			case unvisited:
				if cycle := visit(d); cycle != nil {
					return cycle
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, m := range members {
		if state[m.Name] == unvisited {
			if cycle := visit(m.Name); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}

// FormatCycle writes a cycle as Cycle returns it: a -> b -> a.
func FormatCycle(cycle []string) string { return strings.Join(cycle, " -> ") }

// WaitingFor returns the dependencies of m that are not ready, in the order m lists them.
func WaitingFor(m orchestrationv1alpha1.Member, ready func(name string) bool) []string {
	var out []string
	for _, d := range m.DependsOn {
		if !ready(d) {
			out = append(out, d)
		}
	}
	return out
}
