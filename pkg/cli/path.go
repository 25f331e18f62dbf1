package cli

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/accountmesh/accountmesh/pkg/cluster"
)

const (
	// RootPath is the path of the root account.
	RootPath = cluster.RootPath
	// PathSeparator separates the segments of an account path.
	PathSeparator = cluster.PathSeparator
)

// errNoPrevious is returned when "-" is used before any switch was made.
var errNoPrevious = errors.New("no previous account to switch back to")

// ResolvePath turns the account argument of a command into an absolute account path.
//
//	":"               the root account
//	"-"               the previous account
//	"root:acme"       an absolute path (it starts with root, or with ":" as in ":root:acme")
//	"team-a"          a child of the current account; "team-a:dev" a grandchild
//	".."              the parent of the current account; "../.." its grandparent
//	"../team-b"       a sibling of the current account
//
// current is the current account's path; previous is the previous account's path, or empty.
func ResolvePath(current, previous, arg string) (string, error) {
	switch {
	case arg == "":
		return "", errors.New("an account path is required")
	case arg == ":":
		return RootPath, nil
	case arg == "-":
		if previous == "" {
			return "", errNoPrevious
		}
		return previous, nil
	case strings.HasPrefix(arg, PathSeparator):
		abs := strings.TrimPrefix(arg, PathSeparator)
		if err := ValidatePath(abs); err != nil {
			return "", err
		}
		return abs, nil
	case arg == RootPath || strings.HasPrefix(arg, RootPath+PathSeparator):
		if err := ValidatePath(arg); err != nil {
			return "", err
		}
		return arg, nil
	}

	if current == "" {
		return "", fmt.Errorf("cannot resolve the relative path %q without a current account", arg)
	}
	path := current
	for _, step := range strings.Split(arg, "/") {
		switch step {
		case ".", "":
			// "./team-a" and "../" are allowed.
		case "..":
			parent, ok := ParentPath(path)
			if !ok {
				return "", fmt.Errorf("invalid account path %q: the root account has no parent", arg)
			}
			path = parent
		default:
			for _, name := range strings.Split(step, PathSeparator) {
				if err := validateSegment(arg, name); err != nil {
					return "", err
				}
				path += PathSeparator + name
			}
		}
	}
	return path, nil
}

// ParentPath returns the path of the parent of an account, and false for the root account.
func ParentPath(path string) (string, bool) {
	i := strings.LastIndex(path, PathSeparator)
	if i < 0 {
		return "", false
	}
	return path[:i], true
}

// ValidatePath checks an absolute account path: it starts at root and each further segment is
// a DNS-1123 label.
func ValidatePath(path string) error {
	segments := strings.Split(path, PathSeparator)
	if segments[0] != RootPath {
		return fmt.Errorf("invalid account path %q: an absolute path starts with %q", path, RootPath)
	}
	for _, name := range segments[1:] {
		if err := validateSegment(path, name); err != nil {
			return err
		}
	}
	return nil
}

func validateSegment(path, name string) error {
	if name == "" {
		return fmt.Errorf("invalid account path %q: empty account name", path)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("invalid account path %q: %q %s", path, name, strings.Join(errs, "; "))
	}
	return nil
}

// IsRelative reports whether an account argument is relative to the current account.
func IsRelative(arg string) bool {
	return arg != "-" && !strings.HasPrefix(arg, PathSeparator) &&
		arg != RootPath && !strings.HasPrefix(arg, RootPath+PathSeparator)
}
