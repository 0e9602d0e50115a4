package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Well-known user and group names.
const (
	saUserPrefix       = "system:serviceaccount:"
	groupAllSAs        = "system:serviceaccounts"
	groupSAsInPrefix   = "system:serviceaccounts:"
	groupAuthenticated = "system:authenticated"
	groupUnauthed      = "system:unauthenticated"
	userAnonymous      = "system:anonymous"
)

// normalizeSubject defaults a service account's namespace to the binding's,
// as the RBAC authorizer does; it reports false for subjects that can never
// match (a service account with no namespace, an unknown kind).
func normalizeSubject(s rbacv1.Subject, bindingNamespace string) (rbacv1.Subject, bool) {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Namespace == "" {
			s.Namespace = bindingNamespace
		}
		return s, s.Namespace != "" && s.Name != ""
	case rbacv1.UserKind, rbacv1.GroupKind:
		return s, s.Name != ""
	}
	return s, false
}

// subjectKey identifies the principal a subject names. A User named
// "system:serviceaccount:<ns>:<name>" is that service account.
func subjectKey(s rbacv1.Subject) string {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return serviceAccountKey(s.Namespace, s.Name)
	case rbacv1.UserKind:
		if rest, ok := strings.CutPrefix(s.Name, saUserPrefix); ok {
			if ns, name, ok := strings.Cut(rest, ":"); ok {
				return serviceAccountKey(ns, name)
			}
		}
		return "user\x00" + s.Name
	}
	return "group\x00" + s.Name
}

func serviceAccountKey(namespace, name string) string {
	return "sa\x00" + namespace + "\x00" + name
}

func groupKey(name string) string { return "group\x00" + name }

// serviceAccountPrincipals returns the keys of every subject that applies to
// a service account: itself and the groups its tokens carry.
func serviceAccountPrincipals(namespace, name string) []string {
	return []string{
		serviceAccountKey(namespace, name),
		groupKey(groupSAsInPrefix + namespace),
		groupKey(groupAllSAs),
		groupKey(groupAuthenticated),
	}
}

// everyone describes subjects that stand for whole populations; "" for
// others.
func everyone(s rbacv1.Subject) string {
	switch {
	case s.Kind == rbacv1.GroupKind && s.Name == groupAuthenticated:
		return "every authenticated user and service account"
	case s.Kind == rbacv1.GroupKind && s.Name == groupUnauthed, s.Kind == rbacv1.UserKind && s.Name == userAnonymous:
		return "anonymous requests"
	case s.Kind == rbacv1.GroupKind && s.Name == groupAllSAs:
		return "every service account"
	}
	return ""
}

func describeSubject(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return "ServiceAccount " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}
