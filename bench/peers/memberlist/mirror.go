// SPDX-License-Identifier: MIT
//
// A mirror of every member's view of every other member, kept from the
// packets the in-memory network delivers (decoded as memberlist 0.2.2 frames
// them: CRC header, LZW-compressed message, compound message, then one
// msgpack body per message) and from the member's own events and log lines.
// memberlist 0.2.2 reports no suspect transition per member, so the mirror
// applies the rules of its suspectNode/aliveNode/deadNode (state.go) to say
// when member m turned node x suspect. Push-pull state (streams) is not
// decoded; the run compares the mirror's total with memberlist's own counter
// of suspect transitions ("# suspect_total") so the gap is visible.
package main

import (
	"bytes"
	"compress/lzw"
	"encoding/binary"
	"io"
	"sync"

	"github.com/hashicorp/go-msgpack/codec"
)

const (
	stAlive = iota
	stSuspect
	stDead
)

// memberlist 0.2.2 message types (net.go).
const (
	msgSuspect  = 3
	msgAlive    = 4
	msgDead     = 5
	msgCompound = 7
	msgCompress = 9
	msgHasCrc   = 12
)

type mirror struct {
	mu  sync.Mutex
	r   *recorder
	n   int
	st  [][]uint8
	inc [][]uint32
}

func newMirror(n int, r *recorder) *mirror {
	mi := &mirror{r: r, n: n, st: make([][]uint8, n), inc: make([][]uint32, n)}
	for i := range mi.st {
		mi.st[i] = make([]uint8, n)
		mi.inc[i] = make([]uint32, n)
	}
	return mi
}

func (mi *mirror) set(m, x int, st uint8) {
	if m < 0 || x < 0 || m >= mi.n || x >= mi.n {
		return
	}
	mi.mu.Lock()
	mi.st[m][x] = st
	mi.mu.Unlock()
}

// originate: m's own probe of x failed (log line) and m suspects x.
func (mi *mirror) originate(m, x int) {
	if m < 0 || x < 0 || m >= mi.n || x >= mi.n || m == x {
		return
	}
	mi.mu.Lock()
	turned := mi.st[m][x] == stAlive
	if turned {
		mi.st[m][x] = stSuspect
	}
	mi.mu.Unlock()
	if turned {
		mi.r.add(m, "suspect", x)
	}
}

type wireState struct {
	Incarnation uint32
	Node        string
}

type wireCompress struct {
	Algo uint8
	Buf  []byte
}

func decodeBody(b []byte, out interface{}) bool {
	var h codec.MsgpackHandle
	return codec.NewDecoder(bytes.NewReader(b), &h).Decode(out) == nil
}

// split calls fn for each (type, body) in a packet.
func split(b []byte, depth int, fn func(t byte, body []byte)) {
	if len(b) == 0 || depth > 4 {
		return
	}
	switch b[0] {
	case msgHasCrc:
		if len(b) >= 5 {
			split(b[5:], depth+1, fn)
		}
	case msgCompress:
		var c wireCompress
		if !decodeBody(b[1:], &c) || c.Algo != 0 {
			return
		}
		rd := lzw.NewReader(bytes.NewReader(c.Buf), lzw.LSB, 8)
		plain, err := io.ReadAll(rd)
		rd.Close()
		if err == nil {
			split(plain, depth+1, fn)
		}
	case msgCompound:
		if len(b) < 2 {
			return
		}
		k := int(b[1])
		hdr := 2 + 2*k
		if len(b) < hdr {
			return
		}
		off := hdr
		for i := 0; i < k; i++ {
			l := int(binary.BigEndian.Uint16(b[2+2*i:]))
			if off+l > len(b) {
				return
			}
			split(b[off:off+l], depth+1, fn)
			off += l
		}
	default:
		fn(b[0], b[1:])
	}
}

// observe applies a packet delivered to member m.
func (mi *mirror) observe(m int, pkt []byte) {
	split(pkt, 0, func(t byte, body []byte) {
		if t != msgSuspect && t != msgAlive && t != msgDead {
			return
		}
		var w wireState
		if !decodeBody(body, &w) {
			return
		}
		x := mi.r.idx(w.Node)
		if x < 0 || x == m {
			return
		}
		mi.mu.Lock()
		st, inc := mi.st[m][x], mi.inc[m][x]
		turned, died := false, false
		switch t {
		case msgSuspect: // suspectNode: old incarnations ignored; only alive turns
			if w.Incarnation >= inc && st == stAlive {
				mi.st[m][x], mi.inc[m][x] = stSuspect, w.Incarnation
				turned = true
			}
		case msgAlive: // aliveNode: a newer incarnation is alive (refutation)
			if w.Incarnation > inc {
				mi.st[m][x], mi.inc[m][x] = stAlive, w.Incarnation
			}
		case msgDead: // deadNode
			if w.Incarnation >= inc && st != stDead {
				mi.st[m][x], mi.inc[m][x] = stDead, w.Incarnation
				died = true
			}
		}
		mi.mu.Unlock()
		if turned {
			mi.r.add(m, "suspect", x)
		}
		if died {
			mi.r.add(m, "rx_dead", x)
		}
	})
}
