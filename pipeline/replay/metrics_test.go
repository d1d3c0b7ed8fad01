package replay

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fixtures are the reference values testdata/replay/make_fixtures.py wrote
// with scikit-learn and numpy.
type fixtures struct {
	Classifier []struct {
		Name      string    `json:"name"`
		Threshold float64   `json:"threshold"`
		Bins      int       `json:"bins"`
		YTrue     []float64 `json:"y_true"`
		YScore    []float64 `json:"y_score"`
		Expected  struct {
			ROCAUC          float64   `json:"roc_auc"`
			PRAUC           float64   `json:"pr_auc"`
			LogLoss         float64   `json:"log_loss"`
			Brier           float64   `json:"brier"`
			Accuracy        float64   `json:"accuracy"`
			Precision       float64   `json:"precision"`
			Recall          float64   `json:"recall"`
			F1              float64   `json:"f1"`
			CalibrationTrue []float64 `json:"calibration_true"`
			CalibrationPred []float64 `json:"calibration_pred"`
		} `json:"expected"`
	} `json:"classifier"`
	Regressor []struct {
		Name     string    `json:"name"`
		YTrue    []float64 `json:"y_true"`
		YPred    []float64 `json:"y_pred"`
		Expected struct {
			RMSE float64 `json:"rmse"`
			MAE  float64 `json:"mae"`
			R2   float64 `json:"r2"`
			MAPE float64 `json:"mape"`
		} `json:"expected"`
	} `json:"regressor"`
	Quantiles []struct {
		Name     string    `json:"name"`
		Values   []float64 `json:"values"`
		Q        []float64 `json:"q"`
		Expected struct {
			Quantiles []float64 `json:"quantiles"`
			Mean      float64   `json:"mean"`
			Std       float64   `json:"std"`
		} `json:"expected"`
	} `json:"quantiles"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "replay", "metrics.json"))
	if err != nil {
		t.Fatalf("reading fixtures (regenerate with testdata/replay/make_fixtures.py): %v", err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Classifier) == 0 || len(f.Regressor) == 0 || len(f.Quantiles) == 0 {
		t.Fatal("fixtures are empty")
	}
	return f
}

const tol = 1e-9

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.17g, want %.17g (scikit-learn)", what, got, want)
	}
}

func TestClassifierMetricsMatchScikitLearn(t *testing.T) {
	for _, tc := range loadFixtures(t).Classifier {
		t.Run(tc.Name, func(t *testing.T) {
			m := Classify(tc.YTrue, tc.YScore, tc.Threshold, tc.Bins)
			e := tc.Expected
			near(t, "ROC AUC", float64(m.ROCAUC), e.ROCAUC)
			near(t, "PR AUC", float64(m.PRAUC), e.PRAUC)
			near(t, "log loss", float64(m.LogLoss), e.LogLoss)
			near(t, "Brier", float64(m.Brier), e.Brier)
			near(t, "accuracy", float64(m.Accuracy), e.Accuracy)
			near(t, "precision", float64(m.Precision), e.Precision)
			near(t, "recall", float64(m.Recall), e.Recall)
			near(t, "F1", float64(m.F1), e.F1)
			var gotTrue, gotPred []float64
			total := 0
			for _, b := range m.Calibration {
				total += b.Count
				if b.Count > 0 {
					gotTrue = append(gotTrue, float64(b.FractionPositive))
					gotPred = append(gotPred, float64(b.MeanScore))
				}
			}
			if len(m.Calibration) != tc.Bins || total != len(tc.YTrue) {
				t.Fatalf("calibration has %d bins holding %d rows, want %d bins holding %d", len(m.Calibration), total, tc.Bins, len(tc.YTrue))
			}
			if len(gotTrue) != len(e.CalibrationTrue) {
				t.Fatalf("calibration has %d non-empty bins, want %d", len(gotTrue), len(e.CalibrationTrue))
			}
			for i := range gotTrue {
				near(t, "calibration fraction positive", gotTrue[i], e.CalibrationTrue[i])
				near(t, "calibration mean score", gotPred[i], e.CalibrationPred[i])
			}
		})
	}
}

func TestRegressorMetricsMatchScikitLearn(t *testing.T) {
	for _, tc := range loadFixtures(t).Regressor {
		t.Run(tc.Name, func(t *testing.T) {
			m := Regress(tc.YTrue, tc.YPred)
			e := tc.Expected
			near(t, "RMSE", float64(m.RMSE), e.RMSE)
			near(t, "MAE", float64(m.MAE), e.MAE)
			near(t, "R2", float64(m.R2), e.R2)
			// MAPE with a zero label is about 1e15: compare relative to it.
			if got := float64(m.MAPE); math.Abs(got-e.MAPE) > tol*math.Max(1, math.Abs(e.MAPE)) {
				t.Errorf("MAPE = %.17g, want %.17g (scikit-learn)", got, e.MAPE)
			}
		})
	}
}

func TestQuantilesMatchNumpy(t *testing.T) {
	for _, tc := range loadFixtures(t).Quantiles {
		t.Run(tc.Name, func(t *testing.T) {
			d := summarizeDiffs(tc.Values)
			near(t, "mean", float64(d.Mean), tc.Expected.Mean)
			near(t, "std", float64(d.Std), tc.Expected.Std)
			for i, q := range tc.Q {
				got, ok := d.quantile(q)
				if !ok {
					t.Fatalf("no quantile %g in the summary", q)
				}
				near(t, "percentile", float64(got), tc.Expected.Quantiles[i])
			}
		})
	}
}

func TestClassifierMetricsUndefined(t *testing.T) {
	tests := []struct {
		name      string
		y, s      []float64
		auc, ll   bool // defined?
		calibrate bool
	}{
		{"one class", []float64{1, 1, 1}, []float64{0.2, 0.5, 0.9}, false, true, true},
		{"logits", []float64{0, 1, 0}, []float64{-2, 3, 0.5}, true, false, false},
		{"empty", nil, nil, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Classify(tc.y, tc.s, 0.5, 10)
			if m.ROCAUC.Defined() != tc.auc || m.LogLoss.Defined() != tc.ll || m.Brier.Defined() != tc.ll || (m.Calibration != nil) != tc.calibrate {
				t.Fatalf("got AUC %v, log loss %v, Brier %v, calibration %v", m.ROCAUC, m.LogLoss, m.Brier, m.Calibration != nil)
			}
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatalf("metrics do not marshal: %v", err)
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !tc.auc && back["roc_auc"] != nil {
				t.Fatalf("undefined ROC AUC written as %v, want null", back["roc_auc"])
			}
		})
	}
}

func TestPrecisionRecallCurve(t *testing.T) {
	// Scores 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.7 (neg), 0.1 (neg): one
	// point per distinct score, from the highest down.
	m := Classify([]float64{1, 0, 1, 0, 0}, []float64{0.9, 0.8, 0.7, 0.7, 0.1}, 0.5, 10)
	want := []Point{{0.5, 1}, {0.5, 0.5}, {1, 0.5}, {1, 0.4}}
	if len(m.PR) != len(want) {
		t.Fatalf("PR = %v, want %v", m.PR, want)
	}
	for i := range want {
		if math.Abs(m.PR[i].X-want[i].X) > 1e-12 || math.Abs(m.PR[i].Y-want[i].Y) > 1e-12 {
			t.Fatalf("PR = %v, want %v", m.PR, want)
		}
	}
}
