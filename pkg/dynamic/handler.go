package dynamic

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/endpoints/handlers"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"

	"github.com/accountmesh/accountmesh/pkg/cluster"
	"github.com/accountmesh/accountmesh/pkg/scheme"
	"github.com/accountmesh/accountmesh/pkg/view"
)

// patchTypes are the patch types custom resources accept: no strategic merge patch, as upstream.
var patchTypes = []string{string(types.JSONPatchType), string(types.MergePatchType), string(types.ApplyYAMLPatchType)}

// Handler serves /apis/<group>/... for the custom resources of the request's account. It runs
// inside the generic handler chain, so authentication, authorization and request info are done.
type Handler struct {
	index *Index
	admit admission.Interface
	// notFound answers requests for resources the account does not serve.
	notFound http.Handler
	// discovery answers /apis/<group> and /apis/<group>/<version> of the account's CRDs.
	discovery http.Handler
	// minRequestTimeout is the minimum timeout of watches, randomized as upstream.
	minRequestTimeout time.Duration
}

// NewHandler returns the handler serving the custom resources in index.
func NewHandler(index *Index, admit admission.Interface, notFound, discovery http.Handler, minRequestTimeout time.Duration) *Handler {
	return &Handler{index: index, admit: admit, notFound: notFound, discovery: discovery, minRequestTimeout: minRequestTimeout}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	info, ok := request.RequestInfoFrom(ctx)
	if !ok {
		responsewriters.ErrorNegotiated(apierrors.NewInternalError(fmt.Errorf("no request info")), scheme.Codecs, schema.GroupVersion{}, w, req)
		return
	}
	id, ok := cluster.FromContext(ctx)
	if !ok {
		h.notFound.ServeHTTP(w, req)
		return
	}
	if !info.IsResourceRequest {
		h.discovery.ServeHTTP(w, req)
		return
	}
	name := info.Resource + "." + info.APIGroup
	var hash string
	var crd *apiextensionsv1.CustomResourceDefinition
	terminating := ""
	if v, inView := view.FromContext(ctx); inView {
		var deleting bool
		if hash, crd, deleting, ok = h.index.viewEntry(v, id, schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}); !ok {
			h.notFound.ServeHTTP(w, req)
			return
		}
		if deleting {
			terminating = "the APIBinding serving " + name + " in this account is being deleted"
		}
	} else if id == cluster.Wildcard {
		if crd, s, err, ok := h.index.metadataWildcard(req, info.Verb, info.APIGroup, info.Resource, info.APIVersion); ok {
			h.serve(w, req, info, name, crd, s, err, "")
			return
		}
		hashes := h.index.Identities(name)
		switch len(hashes) {
		case 0:
			h.notFound.ServeHTTP(w, req)
			return
		case 1:
			hash = hashes[0]
		default:
			h.error(w, req, info, apierrors.NewConflict(schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}, "",
				fmt.Errorf("accounts define %s with %d different schemas (%s); list or watch it in one account at a time", name, len(hashes), strings.Join(hashes, ", "))))
			return
		}
		crd = h.index.identityCRD(hash)
		if crd == nil {
			h.notFound.ServeHTTP(w, req)
			return
		}
	} else {
		e, ok := h.index.Lookup(id, name)
		if !ok || !e.Served() {
			h.notFound.ServeHTTP(w, req)
			return
		}
		hash, crd = e.Identity, e.CRD
		switch {
		case !e.Terminating():
		case e.Binding != nil:
			terminating = fmt.Sprintf("APIBinding %q is being deleted", strings.Join(e.Binding.Names, `", "`))
		default:
			terminating = "custom resource definition " + name + " is terminating"
		}
	}
	s, err := h.index.serving(hash)
	h.serve(w, req, info, name, crd, s, err, terminating)
}

// serve answers a request for the custom resource name with s, the serving of crd (err when it
// could not be built); terminating, when set, refuses creations.
func (h *Handler) serve(w http.ResponseWriter, req *http.Request, info *request.RequestInfo, name string,
	crd *apiextensionsv1.CustomResourceDefinition, s *serving, err error, terminating string) {
	ctx := req.Context()
	// A cluster-scoped resource has no namespaced URLs; a namespaced one is only listed and
	// watched across namespaces.
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	if !namespaced && info.Namespace != "" || namespaced && info.Namespace == "" && info.Verb != "list" && info.Verb != "watch" {
		h.notFound.ServeHTTP(w, req)
		return
	}
	if err != nil {
		h.error(w, req, info, apierrors.NewServiceUnavailable(fmt.Sprintf("%s is not ready to be served: %v", name, err)))
		return
	}
	v, ok := s.versions[info.APIVersion]
	if !ok {
		h.notFound.ServeHTTP(w, req)
		return
	}
	if err := s.requests.Add(1); err != nil {
		h.error(w, req, info, apierrors.NewServiceUnavailable(fmt.Sprintf("%s is being reloaded, retry", name)))
		return
	}
	defer s.requests.Done()
	s.awaitFilled(ctx)
	if v.warning != "" {
		warning.AddWarning(ctx, "", v.warning)
	}
	admit := h.admit
	if terminating != "" {
		admit = forbidCreate{Interface: admit, reason: terminating}
	}
	handler := h.route(info, v, admit)
	if handler == nil {
		h.error(w, req, info, apierrors.NewMethodNotSupported(schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}, info.Verb))
		return
	}
	handler.ServeHTTP(w, req)
}

// route picks the upstream handler of a request; nil if the verb is not supported.
func (h *Handler) route(info *request.RequestInfo, v *servedVersion, admit admission.Interface) http.Handler {
	st := v.storage
	switch info.Subresource {
	case "":
		scope := v.scope
		switch info.Verb {
		case "get":
			return handlers.GetResource(st.CustomResource, scope)
		case "list":
			return handlers.ListResource(st.CustomResource, st.CustomResource, scope, false, h.minRequestTimeout)
		case "watch":
			return handlers.ListResource(st.CustomResource, st.CustomResource, scope, true, h.minRequestTimeout)
		case "create":
			return handlers.CreateResource(st.CustomResource, scope, admit)
		case "update":
			return handlers.UpdateResource(st.CustomResource, scope, admit)
		case "patch":
			return handlers.PatchResource(st.CustomResource, scope, admit, patchTypes)
		case "delete":
			return handlers.DeleteResource(st.CustomResource, true, scope, admit)
		case "deletecollection":
			return handlers.DeleteCollection(st.CustomResource, true, scope, admit)
		}
	case "status":
		if v.statusScope == nil {
			return nil
		}
		switch info.Verb {
		case "get":
			return handlers.GetResource(st.Status, v.statusScope)
		case "update":
			return handlers.UpdateResource(st.Status, v.statusScope, admit)
		case "patch":
			return handlers.PatchResource(st.Status, v.statusScope, admit, patchTypes)
		}
	case "scale":
		if v.scaleScope == nil {
			return nil
		}
		switch info.Verb {
		case "get":
			return handlers.GetResource(st.Scale, v.scaleScope)
		case "update":
			return handlers.UpdateResource(st.Scale, v.scaleScope, admit)
		case "patch":
			return handlers.PatchResource(st.Scale, v.scaleScope, admit, patchTypes)
		}
	}
	return nil
}

func (h *Handler) error(w http.ResponseWriter, req *http.Request, info *request.RequestInfo, err error) {
	responsewriters.ErrorNegotiated(err, scheme.Codecs, schema.GroupVersion{Group: info.APIGroup, Version: info.APIVersion}, w, req)
}

// forbidCreate refuses creations while the CRD is terminating, as upstream does, or while the
// bindings serving the resource are being deleted.
type forbidCreate struct {
	admission.Interface
	// reason completes "create not allowed while ...".
	reason string
}

// Admit implements admission.MutationInterface.
func (f forbidCreate) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if err := f.refuse(a); err != nil {
		return err
	}
	if m, ok := f.Interface.(admission.MutationInterface); ok {
		return m.Admit(ctx, a, o)
	}
	return nil
}

// Validate implements admission.ValidationInterface.
func (f forbidCreate) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	if err := f.refuse(a); err != nil {
		return err
	}
	if v, ok := f.Interface.(admission.ValidationInterface); ok {
		return v.Validate(ctx, a, o)
	}
	return nil
}

func (f forbidCreate) refuse(a admission.Attributes) error {
	if a.GetOperation() == admission.Create {
		return admission.NewForbidden(a, fmt.Errorf("create not allowed while %s", f.reason))
	}
	return nil
}
