package server

import (
	apimachineryversion "k8s.io/apimachinery/pkg/version"
	basecompatibility "k8s.io/component-base/compatibility"

	"github.com/accountmesh/accountmesh/pkg/version"
)

// effectiveVersion is upstream's effective version with Account Mesh's /version answer: a
// semantic version with the real commit and build date (pkg/version), where upstream reports
// the placeholders of a binary not built by its release tooling.
type effectiveVersion struct {
	basecompatibility.EffectiveVersion
}

// Info implements basecompatibility.EffectiveVersion.
func (v effectiveVersion) Info() *apimachineryversion.Info {
	info := version.Get()
	if upstream := v.EffectiveVersion.Info(); upstream != nil {
		info.EmulationMajor, info.EmulationMinor = upstream.EmulationMajor, upstream.EmulationMinor
		info.MinCompatibilityMajor, info.MinCompatibilityMinor = upstream.MinCompatibilityMajor, upstream.MinCompatibilityMinor
	}
	return &info
}
