// Package v1alpha1 contains the API of Palisade: SecurityScan, PolicyProbe and
// ScanReport, in the group security.palisade.dev.
// +kubebuilder:object:generate=true
// +groupName=security.palisade.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of Palisade's API.
	GroupVersion = schema.GroupVersion{Group: "security.palisade.dev", Version: "v1alpha1"}

	// SchemeBuilder registers Palisade's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds Palisade's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
