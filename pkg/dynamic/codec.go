package dynamic

import (
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/crdserverscheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/runtime/serializer/versioning"
)

type unstructuredCreator struct{}

func (unstructuredCreator) New(kind schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind)
	return u, nil
}

// typer types unstructured objects by their apiVersion/kind and everything else by a scheme.
type typer struct {
	delegate     runtime.ObjectTyper
	unstructured runtime.ObjectTyper
}

func newTyper(d runtime.ObjectTyper) typer {
	return typer{delegate: d, unstructured: crdserverscheme.NewUnstructuredObjectTyper()}
}

func (t typer) ObjectKinds(obj runtime.Object) ([]schema.GroupVersionKind, bool, error) {
	if _, ok := obj.(runtime.Unstructured); ok {
		return t.unstructured.ObjectKinds(obj)
	}
	return t.delegate.ObjectKinds(obj)
}
func (t typer) Recognizes(gvk schema.GroupVersionKind) bool {
	return t.delegate.Recognizes(gvk) || t.unstructured.Recognizes(gvk)
}

// defaulter applies structural defaults to objects of the CRD and delegates the rest.
type defaulter struct {
	delegate runtime.ObjectDefaulter
	schemas  *crdSchemas
}

func (d defaulter) Default(in runtime.Object) {
	if u, ok := in.(*unstructured.Unstructured); ok && u.GroupVersionKind().GroupKind() == d.schemas.gk {
		d.schemas.defaultObj(u)
		return
	}
	d.delegate.Default(in)
}

// coercingDecoder prunes and coerces decoded objects and reports unknown fields as strict errors
// when the decoder is strict.
type coercingDecoder struct {
	delegate runtime.Decoder
	schemas  *crdSchemas
	strict   bool
}

func (d coercingDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	var strictErrs []error
	obj, gvk, err := d.delegate.Decode(data, defaults, into)
	if err != nil {
		se, ok := runtime.AsStrictDecodingError(err)
		if !ok || obj == nil {
			return nil, gvk, err
		}
		strictErrs = se.Errors()
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		paths, err := d.schemas.coerce(u, false, false, d.strict)
		if err != nil {
			return nil, gvk, err
		}
		for _, p := range paths {
			strictErrs = append(strictErrs, fmt.Errorf("unknown field %q", p))
		}
	}
	if d.strict && len(strictErrs) > 0 {
		return obj, gvk, runtime.NewStrictDecodingError(strictErrs)
	}
	return obj, gvk, nil
}

// negotiatedSerializer is the request-side codec of one CRD identity and version.
type negotiatedSerializer struct {
	typer     runtime.ObjectTyper
	converter runtime.ObjectConvertor
	schemas   *crdSchemas
	media     []runtime.SerializerInfo
}

func newNegotiatedSerializer(t runtime.ObjectTyper, c runtime.ObjectConvertor, s *crdSchemas) negotiatedSerializer {
	cr := unstructuredCreator{}
	js := func(o json.SerializerOptions) *json.Serializer {
		return json.NewSerializerWithOptions(json.DefaultMetaFactory, cr, t, o)
	}
	return negotiatedSerializer{typer: t, converter: c, schemas: s, media: []runtime.SerializerInfo{
		{
			MediaType: "application/json", MediaTypeType: "application", MediaTypeSubType: "json", EncodesAsText: true,
			Serializer:       js(json.SerializerOptions{}),
			PrettySerializer: js(json.SerializerOptions{Pretty: true}),
			StrictSerializer: js(json.SerializerOptions{Strict: true}),
			StreamSerializer: &runtime.StreamSerializerInfo{EncodesAsText: true, Serializer: js(json.SerializerOptions{}), Framer: json.Framer},
		},
		{
			MediaType: "application/yaml", MediaTypeType: "application", MediaTypeSubType: "yaml", EncodesAsText: true,
			Serializer:       js(json.SerializerOptions{Yaml: true}),
			StrictSerializer: js(json.SerializerOptions{Yaml: true, Strict: true}),
		},
		{
			MediaType: "application/vnd.kubernetes.protobuf", MediaTypeType: "application", MediaTypeSubType: "vnd.kubernetes.protobuf",
			Serializer:       protobuf.NewSerializer(cr, t),
			StreamSerializer: &runtime.StreamSerializerInfo{Serializer: protobuf.NewRawSerializer(cr, t), Framer: protobuf.LengthDelimitedFramer},
		},
	}}
}

func (n negotiatedSerializer) SupportedMediaTypes() []runtime.SerializerInfo { return n.media }

func (n negotiatedSerializer) EncoderForVersion(e runtime.Encoder, gv runtime.GroupVersioner) runtime.Encoder {
	return versioning.NewCodec(e, nil, n.converter, codecScheme, codecScheme, codecScheme, gv, nil, "accountmesh-dynamic")
}

func (n negotiatedSerializer) DecoderToVersion(d runtime.Decoder, gv runtime.GroupVersioner) runtime.Decoder {
	strict := false
	if s, ok := d.(*json.Serializer); ok {
		strict = s.IsStrict()
	}
	cd := coercingDecoder{delegate: d, schemas: n.schemas, strict: strict}
	return versioning.NewCodec(nil, cd, runtime.UnsafeObjectConvertor(codecScheme), codecScheme, codecScheme, defaulter{delegate: codecScheme, schemas: n.schemas}, nil, gv, "accountmesh-dynamic")
}

// codecScheme is the dynamic handler's own scheme for the non-CR objects its codecs meet
// (Status, WatchEvent, options): all unversioned, like upstream's apiextensions scheme.
var codecScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	unversioned := schema.GroupVersion{Version: "v1"}
	metav1.AddToGroupVersion(s, unversioned)
	s.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.WatchEvent{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	return s
}()
