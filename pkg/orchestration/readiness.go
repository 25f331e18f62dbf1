package orchestration

import (
	"errors"
	"fmt"
	"slices"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/version"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// readyPhases are the values of status.phase that mean ready for a member without a Ready
// condition and without a readiness expression.
var readyPhases = []string{"Ready", "Active", "Bound"}

// Readiness decides whether a member is ready.
type Readiness struct {
	// program is the compiled expression; nil for the default.
	program cel.Program
}

// envSet is the CEL environment of readiness expressions: upstream's base libraries and the
// member as self.
var envSet = func() *environment.EnvSet {
	s, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        []cel.EnvOption{cel.Variable("self", cel.DynType)},
	})
	if err != nil {
		panic(fmt.Sprintf("failed to build the CEL environment of readiness expressions: %v", err))
	}
	return s
}()

// CompileReadiness compiles a readiness expression; the empty expression is the default. A new
// expression compiles in the environment of new expressions, a stored one (stored true) in the
// more permissive environment of stored ones.
func CompileReadiness(expr string, stored bool) (*Readiness, error) {
	if expr == "" {
		return &Readiness{}, nil
	}
	envType := environment.NewExpressions
	if stored {
		envType = environment.StoredExpressions
	}
	env, err := envSet.Env(envType)
	if err != nil {
		return nil, fmt.Errorf("failed to get the CEL environment: %w", err)
	}
	ast, issues := env.Compile(expr)
	if issues.Err() != nil {
		return nil, fmt.Errorf("failed to compile: %w", issues.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("must return a bool, not %s", t)
	}
	program, err := env.Program(ast, cel.CostLimit(celconfig.PerCallLimit), cel.InterruptCheckFrequency(celconfig.CheckFrequency))
	if err != nil {
		return nil, fmt.Errorf("failed to build the program: %w", err)
	}
	return &Readiness{program: program}, nil
}

// Evaluate returns whether obj is ready and a message from the member's own Ready condition,
// when it has one. An error means the expression failed on obj.
func (r *Readiness) Evaluate(obj *unstructured.Unstructured) (bool, string, error) {
	message := readyConditionMessage(obj)
	if r.program == nil {
		return defaultReady(obj), message, nil
	}
	out, _, err := r.program.Eval(map[string]any{"self": obj.Object})
	if err != nil {
		return false, message, fmt.Errorf("failed to evaluate the readiness expression: %w", err)
	}
	ready, ok := out.Value().(bool)
	if !ok {
		return false, message, errors.New("the readiness expression did not return a bool")
	}
	return ready, message, nil
}

// defaultReady is the readiness of a member without an expression: its condition Ready is
// True or, without such a condition, its status.phase is a ready one.
func defaultReady(obj *unstructured.Unstructured) bool {
	if c, ok := readyCondition(obj); ok {
		status, _ := c["status"].(string)
		return status == "True"
	}
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	return slices.Contains(readyPhases, phase)
}

// readyCondition returns the condition Ready of obj's status.conditions.
func readyCondition(obj *unstructured.Unstructured) (map[string]any, bool) {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			return m, true
		}
	}
	return nil, false
}

// readyConditionMessage returns the message of obj's condition Ready, if any.
func readyConditionMessage(obj *unstructured.Unstructured) string {
	c, ok := readyCondition(obj)
	if !ok {
		return ""
	}
	message, _ := c["message"].(string)
	return message
}
