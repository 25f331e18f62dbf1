// Command report reads the not-applicable list and ginkgo's JSON report of a conformance run:
// with -skip-regexp it prints the list as one regular expression for --ginkgo.skip; otherwise
// it prints a table of every test that ran or was ruled out, and the totals, and exits 1 if a
// test failed. With -compatibility it also writes the compatibility page (docs/compatibility.md)
// from the account's discovery.
//
// The list has one regular expression per line, matched against the full test name; a line
// starting with # gives the reason for the expressions below it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// rule is one expression of the not-applicable list and its reason.
type rule struct {
	re     *regexp.Regexp
	reason string
}

func readRules(file string) ([]rule, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var rules []rule
	reason := ""
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			reason = strings.TrimSpace(strings.TrimPrefix(line, "#"))
		default:
			re, err := regexp.Compile(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			if reason == "" {
				return nil, fmt.Errorf("%s:%d: no reason (a # line) above %q", file, n, line)
			}
			rules = append(rules, rule{re: re, reason: reason})
		}
	}
	return rules, s.Err()
}

// spec is what the report needs of a ginkgo SpecReport.
type spec struct {
	ContainerHierarchyTexts []string
	LeafNodeText            string
	LeafNodeType            string
	State                   string
	RunTime                 int64
	Failure                 *struct {
		Message string
	}
}

func (s spec) name() string {
	return strings.Join(append(slices.Clone(s.ContainerHierarchyTexts), s.LeafNodeText), " ")
}

func main() {
	skipRegexp := flag.String("skip-regexp", "", "print the list in this file as one regular expression and exit")
	notApplicable := flag.String("not-applicable", "", "the not-applicable list")
	focus := flag.String("focus", `\[sig-api-machinery\]|\[sig-auth\]`, "the tests that were meant to run")
	compat := flag.String("compatibility", "", "also write the compatibility page to this file")
	kubeconfig := flag.String("kubeconfig", "", "with -compatibility: the account whose discovery it reports")
	flag.Parse()
	if *skipRegexp != "" {
		rules, err := readRules(*skipRegexp)
		exitOn(err)
		parts := make([]string, 0, len(rules))
		for _, r := range rules {
			parts = append(parts, "(?:"+r.re.String()+")")
		}
		fmt.Println(strings.Join(parts, "|"))
		return
	}
	if flag.NArg() != 1 {
		exitOn(fmt.Errorf("usage: report -not-applicable FILE REPORT.json"))
	}
	rules, err := readRules(*notApplicable)
	exitOn(err)
	data, err := os.ReadFile(flag.Arg(0))
	exitOn(err)
	var suites []struct{ SpecReports []spec }
	exitOn(json.Unmarshal(data, &suites))
	focusRE := regexp.MustCompile(*focus)
	if len(suites) == 0 || len(suites[0].SpecReports) == 0 {
		exitOn(fmt.Errorf("%s holds no test results: the run did not finish", flag.Arg(0)))
	}

	counts := map[string]int{}
	var failed []string
	fmt.Println("| result | test |")
	fmt.Println("| --- | --- |")
	for _, suite := range suites {
		for _, s := range suite.SpecReports {
			if s.LeafNodeType != "It" || !focusRE.MatchString(s.name()) {
				continue
			}
			result := s.State
			if s.State == "skipped" {
				result = "not run"
				for _, r := range rules {
					if r.re.MatchString(s.name()) {
						result = "not applicable: " + r.reason
						break
					}
				}
			}
			switch {
			case strings.HasPrefix(result, "not applicable"):
				counts["not applicable"]++
			case result == "passed":
				counts["passed"]++
			case result == "not run":
				counts["not run"]++
			default:
				counts["failed"]++
				failed = append(failed, s.name())
			}
			fmt.Printf("| %s | %s |\n", result, s.name())
		}
	}
	fmt.Printf("\npassed %d, failed %d, not applicable %d, not run %d\n",
		counts["passed"], counts["failed"], counts["not applicable"], counts["not run"])
	if *compat != "" {
		f, err := os.Create(*compat)
		exitOn(err)
		exitOn(writeCompatibility(f, *kubeconfig, counts))
		exitOn(f.Close())
	}
	if len(failed) > 0 {
		fmt.Println("\nfailed:")
		for _, f := range failed {
			fmt.Println("  " + f)
		}
		os.Exit(1)
	}
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
}
