package model

import (
	"fmt"
	"regexp"
)

var (
	tooNewIR    = regexp.MustCompile(`Unsupported model IR version: (\d+), max supported IR version: (\d+)`)
	tooNewOpset = regexp.MustCompile(`Opset (\d+) is under development`)
)

// explainLoadError adds, to ONNX Runtime's refusal of a model made by newer
// tools than it reads, the converter option that makes an older model.
func explainLoadError(err error) error {
	if err == nil {
		return nil
	}
	if m := tooNewIR.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%w: the model's IR version %s is newer than this ONNX Runtime (%s) reads (at most %s): export it again for an older opset, which stamps an older IR version (skl2onnx and onnxmltools: target_opset=17; torch.onnx.export: opset_version=17), or, with the onnx package, set model.ir_version = %s and save it", err, m[1], RuntimeVersion(), m[2], m[2])
	}
	if m := tooNewOpset.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%w: the model uses opset %s, newer than this ONNX Runtime (%s) supports: export it for an older opset (skl2onnx and onnxmltools: target_opset=17; torch.onnx.export: opset_version=17; onnx.version_converter.convert_version(model, 17))", err, m[1], RuntimeVersion())
	}
	return err
}
