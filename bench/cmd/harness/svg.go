package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// series is one line of a chart, or a set of points.
type series struct {
	name  string
	color string
	// dash is an SVG stroke-dasharray ("" for a solid line).
	dash string
	// points draws markers only, no line: measurements that are not a
	// curve (one rate per contender).
	points bool
	pts    [][2]float64
}

// tick is an axis mark and its label.
type tick struct {
	v     float64
	label string
}

// chart is a line chart with optional log axes, rendered as standalone SVG.
type chart struct {
	title, xlabel, ylabel string
	xlog, ylog            bool
	xmin, xmax            float64
	ymin, ymax            float64
	xticks, yticks        []tick
	series                []series
}

const (
	svgW, svgH                     = 760, 460
	padL, padR, padT, padB float64 = 78, 210, 40, 56
)

func (c *chart) tx(v float64) float64 {
	lo, hi, x := c.xmin, c.xmax, v
	if c.xlog {
		lo, hi, x = math.Log10(lo), math.Log10(hi), math.Log10(v)
	}
	return padL + (x-lo)/(hi-lo)*(svgW-padL-padR)
}

func (c *chart) ty(v float64) float64 {
	lo, hi, y := c.ymin, c.ymax, v
	if c.ylog {
		lo, hi, y = math.Log10(lo), math.Log10(hi), math.Log10(v)
	}
	return svgH - padB - (y-lo)/(hi-lo)*(svgH-padT-padB)
}

// svg renders the chart.
func (c *chart) svg() string {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%g" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(c.title))
	x0, x1, y0, y1 := padL, float64(svgW)-padR, float64(svgH)-padB, padT
	// A tick keeps its grid line but loses its label where the label would
	// touch the previous one (labels are about 7 px per character).
	lastRight := math.Inf(-1)
	for _, t := range c.xticks {
		x := c.tx(t.v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x, y0, x, y1)
		half := float64(len(t.label))*7/2 + 4
		if x-half < lastRight {
			continue
		}
		lastRight = x + half
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y0+16, esc(t.label))
	}
	lastY := math.Inf(1)
	for _, t := range c.yticks {
		y := c.ty(t.v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x0, y, x1, y)
		if lastY-y < 15 {
			continue
		}
		lastY = y
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", x0-6, y, esc(t.label))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, float64(svgH)-14, esc(c.xlabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (y0+y1)/2, esc(c.ylabel))
	for i, s := range c.series {
		var pts []string
		for _, p := range s.pts {
			if (c.xlog && p[0] <= 0) || (c.ylog && p[1] <= 0) || math.IsNaN(p[0]) || math.IsNaN(p[1]) {
				continue
			}
			px := math.Max(x0, math.Min(x1, c.tx(p[0])))
			py := math.Max(y1, math.Min(y0, c.ty(p[1])))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		if len(pts) > 0 && !s.points {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		}
		if s.points || (s.dash == "" && len(pts) < 20) {
			r := 3
			if s.points {
				r = 5
			}
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%d" fill="%s"/>`+"\n", xy[0], xy[1], r, s.color)
			}
		}
		ly := padT + 10 + float64(i)*20
		if s.points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"/>`+"\n", x1+24, ly, s.color)
		} else {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", x1+12, ly, x1+36, ly, s.color, dash)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", x1+42, ly, esc(s.name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// decadeTicks returns ticks at 1, 2, 5 × powers of ten within [lo, hi].
func decadeTicks(lo, hi float64, format func(float64) string) []tick {
	var out []tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, tick{v, format(v)})
			}
		}
	}
	return out
}

// si formats a rate: 1.2k, 350k, 2M.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trimZero(fmt.Sprintf("%.1f", v))
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
