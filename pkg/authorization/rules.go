package authorization

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// ruleAllows reports whether rule r allows the request a.
func ruleAllows(a authorizer.Attributes, r *rbacv1.PolicyRule) bool {
	if !contains(r.Verbs, a.GetVerb()) {
		return false
	}
	if !a.IsResourceRequest() {
		return urlMatches(r.NonResourceURLs, a.GetPath())
	}
	return contains(r.APIGroups, a.GetAPIGroup()) &&
		resourceMatches(r.Resources, a.GetResource(), a.GetSubresource()) &&
		nameMatches(r.ResourceNames, a.GetName())
}

// rulesAllow reports whether any of rules allows a.
func rulesAllow(a authorizer.Attributes, rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		if ruleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

// contains reports whether set holds v or the wildcard.
func contains(set []string, v string) bool {
	for _, s := range set {
		if s == v || s == rbacv1.ResourceAll {
			return true
		}
	}
	return false
}

// resourceMatches matches a resource and subresource against rule resources: "*", "res",
// "res/sub" and "*/sub". It compares in place so that no string is built per request.
func resourceMatches(set []string, resource, subresource string) bool {
	for _, s := range set {
		switch {
		case s == rbacv1.ResourceAll:
			return true
		case subresource == "":
			if s == resource {
				return true
			}
		case len(s) == len(resource)+1+len(subresource) && strings.HasPrefix(s, resource) &&
			s[len(resource)] == '/' && strings.HasSuffix(s, subresource):
			return true
		case len(s) == 2+len(subresource) && strings.HasPrefix(s, "*/") && strings.HasSuffix(s, subresource):
			return true
		}
	}
	return false
}

// nameMatches reports whether name is allowed by resourceNames; an empty list allows any name,
// and a non-empty one never allows requests without a name (create, list, watch).
func nameMatches(names []string, name string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// urlMatches matches a non-resource path against rule URLs: exact, "*", or a prefix ending
// in "*".
func urlMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, u[:len(u)-1]) {
			return true
		}
	}
	return false
}
