// Package qr renders QR codes for TOTP key URIs as PNG images.
//
// The symbol is encoded by github.com/skip2/go-qrcode; the image is drawn here
// from its module matrix so the quiet zone, colours and scale are exactly what
// DESIGN.md §2 asks: error-correction level M, a 4-module quiet zone, black
// modules on opaque white, a whole number of pixels per module.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"
)

// QuietZone is the width of the white border around the symbol, in modules.
const QuietZone = 4

// MaxPxPerModule bounds the scale so a caller cannot ask for a huge image
// (version 40 at 32 px per module is already 6 000 px square).
const MaxPxPerModule = 32

// PNG renders content with error-correction level M, a quiet zone of
// QuietZone modules, black on opaque white, at pxPerModule (1..MaxPxPerModule)
// pixels per module. The image is a 1-bit palette PNG without transparency,
// so dark mode or a coloured page behind it cannot change how it scans.
func PNG(content string, pxPerModule int) ([]byte, error) {
	if pxPerModule < 1 || pxPerModule > MaxPxPerModule {
		return nil, fmt.Errorf("qr: pixels per module %d not in 1..%d", pxPerModule, MaxPxPerModule)
	}
	q, err := encode(content)
	if err != nil {
		return nil, err
	}
	// The library's border is disabled and ours drawn instead, so the quiet
	// zone does not depend on the library's default. Bitmap must be called
	// only once per QRCode: the library appends padding bits on every call.
	q.DisableBorder = true
	bm := q.Bitmap()
	n := len(bm)
	if n == 0 {
		return nil, errors.New("qr: empty symbol")
	}

	side := (n + 2*QuietZone) * pxPerModule
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{
		color.Gray{Y: 0xff}, // index 0: background, so the zero value is white
		color.Gray{Y: 0x00},
	})
	for y, row := range bm {
		if len(row) != n {
			return nil, errors.New("qr: symbol is not square")
		}
		for x, dark := range row {
			if !dark {
				continue
			}
			x0 := (x + QuietZone) * pxPerModule
			y0 := (y + QuietZone) * pxPerModule
			for py := y0; py < y0+pxPerModule; py++ {
				off := img.PixOffset(x0, py)
				for i := range pxPerModule {
					img.Pix[off+i] = 1
				}
			}
		}
	}

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}

// Version reports the QR version (1-40) that content needs at level M.
func Version(content string) (int, error) {
	q, err := encode(content)
	if err != nil {
		return 0, err
	}
	return q.VersionNumber, nil
}

func encode(content string) (*qrcode.QRCode, error) {
	if content == "" {
		return nil, errors.New("qr: empty content")
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return q, nil
}
