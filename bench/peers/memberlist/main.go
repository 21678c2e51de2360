// SPDX-License-Identifier: MIT
//
// G1 side by side (issue 16): N hashicorp/memberlist instances in one
// process over an in-memory transport of our own (memberlist's MockTransport
// has no loss, delay or stalls), driven by the schedule file that
// bench/peers/gossip_schedule.c writes and that ut_gossip_t runs too. It
// writes the event log gossip_schedule analyzes:
//
//	T_MS MEMBER KIND NODE    (suspect, dead, alive, origin, refute)
//	# bytes B                (packet + stream bytes sent in the window)
//	# suspect_total S        (memberlist's own "memberlist.msg.suspect" count)
//
// memberlist runs on the wall clock with goroutines; ut_gossip_t runs in
// simulated time. Where the two can be told apart is said in
// docs/BENCHMARKS.md.
//
// Fault model, as tests/gossip_cluster.c does it for ut_gossip_t:
//   - loss: each packet is dropped with probability loss_pct (streams, which
//     memberlist uses for push-pull and its TCP fallback ping, are reliable,
//     as TCP would be);
//   - delay: each packet is delivered after delay_ms MIN..MAX, uniform;
//   - stall: a stalled member's incoming packets wait until the stall ends
//     (a socket buffer), and so do streams dialled to it. memberlist's
//     goroutines and timers cannot be stopped from outside, so it keeps
//     running: its probes time out and it suspects others. What it sends
//     meanwhile leaves when the stall ends (-stall_send=hold, the default:
//     nothing it did is lost, only late, as after a pause) or is lost
//     (-stall_send=drop: a network blackout; memberlist then spends its
//     retransmissions of a new suspicion inside the stall and may never
//     tell anyone, the suspected member included, until its own timer
//     declares the member dead);
//   - crash: Shutdown() at the crash time, no leave message; its packets are
//     dropped and dials to it fail from then on.
//
// Suspect transitions: memberlist 0.2.2 has no event for them (and its
// Members() does not carry the live state). The prober's own suspicion is
// read from its log line ("Suspect X has failed, no acks received"); the
// transitions of every member are those of mirror.go, which follows the
// suspect/alive/dead messages delivered to each member; memberlist's own
// counter of suspect transitions (all members together, through a go-metrics
// sink) is written next to it as a check of the mirror.
//
// Compression is off by default (-compress turns memberlist's LZW on): on
// the shared 2-core machine LZW took ~10x the CPU of the rest of the run
// and the members' 100 ms timeouts then failed for lack of CPU.
//
// usage: memberlist-g1 [-stall_send=hold|drop] [-tcp_pings=true] [-compress=false] [-q]
//
//	sched.txt events.txt
//
// G1_DEBUG=1 in the environment copies every member's log to stderr.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/armon/go-metrics"
	"github.com/hashicorp/memberlist"
)

type window struct{ from, to time.Duration }

type schedule struct {
	n                           int
	seed                        int64
	duration, period, timeout   time.Duration
	pushPull, delayMin, delayMx time.Duration
	lossPct                     int
	crashAt                     map[int]time.Duration
	stalls                      [][]window
}

func loadSchedule(path string) (*schedule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &schedule{crashAt: map[int]time.Duration{}}
	ms := func(v string) time.Duration {
		x, _ := strconv.ParseUint(v, 10, 64)
		return time.Duration(x) * time.Millisecond
	}
	num := func(v string) int {
		x, _ := strconv.Atoi(v)
		return x
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		bad := func() error { return fmt.Errorf("%s: bad line %q", path, sc.Text()) }
		switch {
		case w[0] == "members" && len(w) == 2:
			s.n = num(w[1])
			s.stalls = make([][]window, s.n)
		case w[0] == "seed" && len(w) == 2:
			s.seed = int64(num(w[1]))
		case w[0] == "duration_ms" && len(w) == 2:
			s.duration = ms(w[1])
		case w[0] == "probe_interval_ms" && len(w) == 2:
			s.period = ms(w[1])
		case w[0] == "probe_timeout_ms" && len(w) == 2:
			s.timeout = ms(w[1])
		case w[0] == "push_pull_ms" && len(w) == 2:
			s.pushPull = ms(w[1])
		case w[0] == "delay_ms" && len(w) == 3:
			s.delayMin, s.delayMx = ms(w[1]), ms(w[2])
		case w[0] == "loss_pct" && len(w) == 2:
			s.lossPct = num(w[1])
		case w[0] == "crash" && len(w) == 3 && s.n > 0:
			m := num(w[1])
			if m < 0 || m >= s.n {
				return nil, bad()
			}
			s.crashAt[m] = ms(w[2])
		case w[0] == "stall" && len(w) == 4 && s.n > 0:
			m := num(w[1])
			if m < 0 || m >= s.n {
				return nil, bad()
			}
			s.stalls[m] = append(s.stalls[m], window{ms(w[2]), ms(w[3])})
		default:
			return nil, bad()
		}
	}
	if s.n < 2 || s.period <= 0 || s.duration <= 0 || s.delayMx < s.delayMin {
		return nil, fmt.Errorf("%s: members, probe_interval_ms, duration_ms required", path)
	}
	return s, sc.Err()
}

// ---- events ---------------------------------------------------------------

type event struct {
	t      float64 // ms from t0
	member int
	kind   string
	node   int
}

type recorder struct {
	mu       sync.Mutex
	ev       []event
	t0       atomic.Value // time.Time; unset during warm-up
	bytes    int64        // atomic, sent in the window
	endAt    atomic.Value // time.Time
	names    map[string]int
	errLines []string // the first [ERR] log lines of the window
}

func (r *recorder) since() (float64, bool) {
	t0, ok := r.t0.Load().(time.Time)
	if !ok {
		return 0, false
	}
	now := time.Now()
	if end, ok := r.endAt.Load().(time.Time); ok && now.After(end) {
		return 0, false
	}
	return float64(now.Sub(t0).Microseconds()) / 1000.0, true
}

func (r *recorder) add(member int, kind string, node int) {
	t, ok := r.since()
	if !ok || node < 0 {
		return
	}
	r.mu.Lock()
	r.ev = append(r.ev, event{t, member, kind, node})
	r.mu.Unlock()
}

func (r *recorder) count(n int) {
	if _, ok := r.since(); ok {
		atomic.AddInt64(&r.bytes, int64(n))
	}
}

func (r *recorder) idx(name string) int {
	if i, ok := r.names[name]; ok {
		return i
	}
	return -1
}

// Event delegate: NotifyLeave is a dead declaration here (nobody leaves).
type events struct {
	r      *recorder
	mi     *mirror
	member int
}

func (e *events) NotifyJoin(n *memberlist.Node) {
	e.mi.set(e.member, e.r.idx(n.Name), stAlive)
	e.r.add(e.member, "alive", e.r.idx(n.Name))
}
func (e *events) NotifyLeave(n *memberlist.Node) {
	e.mi.set(e.member, e.r.idx(n.Name), stDead)
	e.r.add(e.member, "dead", e.r.idx(n.Name))
}
func (e *events) NotifyUpdate(n *memberlist.Node) {}

// Log writer: the prober's suspicion and refutations.
type logSink struct {
	r      *recorder
	mi     *mirror
	member int
	errs   *int64
}

var debugLog = os.Getenv("G1_DEBUG") != ""

func (l *logSink) Write(p []byte) (int, error) {
	s := string(p)
	if debugLog {
		fmt.Fprintf(os.Stderr, "%s n%d %s", time.Now().Format("05.000"), l.member, s)
	}
	if i := strings.Index(s, "memberlist: Suspect "); i >= 0 {
		rest := s[i+len("memberlist: Suspect "):]
		if j := strings.Index(rest, " has failed"); j >= 0 {
			x := l.r.idx(rest[:j])
			l.r.add(l.member, "origin", x)
			l.mi.originate(l.member, x)
		}
	} else if i := strings.Index(s, "memberlist: Marking "); i >= 0 {
		rest := s[i+len("memberlist: Marking "):]
		if j := strings.Index(rest, " as failed"); j >= 0 {
			l.r.add(l.member, "timeout", l.r.idx(rest[:j]))
		}
	} else if strings.Contains(s, "Refuting a suspect message") ||
		strings.Contains(s, "Refuting a dead message") {
		l.r.add(l.member, "refute", l.member)
	} else if strings.Contains(s, "[ERR]") {
		if _, ok := l.r.since(); ok {
			atomic.AddInt64(l.errs, 1)
			l.r.mu.Lock()
			if len(l.r.errLines) < 10 {
				l.r.errLines = append(l.r.errLines, fmt.Sprintf("n%d %s", l.member, strings.TrimSpace(s)))
			}
			l.r.mu.Unlock()
		}
	}
	return len(p), nil
}

// go-metrics sink counting memberlist's suspect transitions.
type suspectSink struct {
	metrics.BlackholeSink
	n int64
}

func (s *suspectSink) IncrCounter(key []string, val float32) {
	s.IncrCounterWithLabels(key, val, nil)
}
func (s *suspectSink) IncrCounterWithLabels(key []string, val float32, _ []metrics.Label) {
	k := len(key)
	if k >= 3 && key[k-3] == "memberlist" && key[k-2] == "msg" && key[k-1] == "suspect" {
		atomic.AddInt64(&s.n, int64(val))
	}
}

// ---- the in-memory network ------------------------------------------------

type network struct {
	s       *schedule
	r       *recorder
	mu      sync.Mutex // rng
	rng     *rand.Rand
	nodes   []*transport
	byAddr  map[string]*transport
	started int32 // atomic: faults apply from t0 on
	mirror  *mirror
}

type transport struct {
	nw       *network
	idx      int
	ip       net.IP
	port     int
	addr     string
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	dead     chan struct{}
	crashed  int32
}

type addr string

func (a addr) Network() string { return "mem" }
func (a addr) String() string  { return string(a) }

// stalledUntil: the end of the stall window covering now, if any.
func (nw *network) stalledUntil(i int) (time.Time, bool) {
	if atomic.LoadInt32(&nw.started) == 0 {
		return time.Time{}, false
	}
	t0 := nw.r.t0.Load().(time.Time)
	now := time.Since(t0)
	for _, w := range nw.s.stalls[i] {
		if w.from <= now && now < w.to {
			return t0.Add(w.to), true
		}
	}
	return time.Time{}, false
}

func (nw *network) lossAndDelay() (bool, time.Duration) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	lost := atomic.LoadInt32(&nw.started) != 0 && nw.rng.Intn(100) < nw.s.lossPct
	span := int64(nw.s.delayMx-nw.s.delayMin)/int64(time.Millisecond) + 1
	d := nw.s.delayMin + time.Duration(nw.rng.Int63n(span))*time.Millisecond
	return lost, d
}

func (t *transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.ip, t.port, nil
}

func (t *transport) WriteTo(b []byte, to string) (time.Time, error) {
	now := time.Now()
	if atomic.LoadInt32(&t.crashed) != 0 {
		return now, nil
	}
	t.nw.r.count(len(b))
	until, stalled := t.nw.stalledUntil(t.idx)
	if stalled && !holdSends {
		return now, nil // -stall_send=drop
	}
	dst, ok := t.nw.byAddr[to]
	if !ok {
		return now, fmt.Errorf("no route to %s", to)
	}
	lost, d := t.nw.lossAndDelay()
	if lost {
		return now, nil
	}
	buf := append([]byte(nil), b...)
	from := addr(t.addr)
	if stalled { // -stall_send=hold: leaves when the stall ends
		d += time.Until(until)
	}
	time.AfterFunc(d, func() { dst.deliver(buf, from) })
	return now, nil
}

func (t *transport) deliver(buf []byte, from addr) {
	if atomic.LoadInt32(&t.crashed) != 0 {
		return
	}
	if until, st := t.nw.stalledUntil(t.idx); st {
		time.AfterFunc(time.Until(until), func() { t.deliver(buf, from) })
		return
	}
	t.nw.mirror.observe(t.idx, buf)
	select {
	case t.packetCh <- &memberlist.Packet{Buf: buf, From: from, Timestamp: time.Now()}:
	case <-t.dead:
	}
}

func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }
func (t *transport) StreamCh() <-chan net.Conn           { return t.streamCh }
func (t *transport) Shutdown() error                     { return nil }

// countConn counts the bytes its side writes.
type countConn struct {
	net.Conn
	r *recorder
}

func (c countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.r.count(n)
	return n, err
}

var errDown = errors.New("connection refused")

// holdSends: what a stalled member sends leaves when its stall ends
// (-stall_send=hold), or is lost (-stall_send=drop).
var holdSends = true

func (t *transport) DialTimeout(to string, timeout time.Duration) (net.Conn, error) {
	if atomic.LoadInt32(&t.crashed) != 0 {
		return nil, errDown
	}
	srcUntil, srcStalled := t.nw.stalledUntil(t.idx)
	if srcStalled && !holdSends {
		return nil, errDown
	}
	dst, ok := t.nw.byAddr[to]
	if !ok || atomic.LoadInt32(&dst.crashed) != 0 {
		return nil, errDown
	}
	mine, theirs := net.Pipe()
	go func() {
		if srcStalled {
			time.Sleep(time.Until(srcUntil))
		}
		if until, st := t.nw.stalledUntil(dst.idx); st {
			time.Sleep(time.Until(until))
		}
		select {
		case dst.streamCh <- countConn{theirs, t.nw.r}:
		case <-dst.dead:
			theirs.Close()
		}
	}()
	return countConn{mine, t.nw.r}, nil
}

// ---- main -----------------------------------------------------------------

func main() {
	tcpPings := flag.Bool("tcp_pings", true, "memberlist's TCP fallback ping (its default)")
	stallSend := flag.String("stall_send", "hold", "what a stalled member sends: hold (until the stall ends) or drop")
	compress := flag.Bool("compress", false, "LZW compression of packets (memberlist's default; ut_gossip_t has none)")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()
	if *stallSend != "hold" && *stallSend != "drop" {
		fmt.Fprintln(os.Stderr, "-stall_send: hold or drop")
		os.Exit(2)
	}
	holdSends = *stallSend == "hold"
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: memberlist-g1 [-stall_send=hold|drop] [-tcp_pings=true] [-compress=false] [-q] sched.txt events.txt")
		os.Exit(2)
	}
	s, err := loadSchedule(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	progress := func(f string, a ...interface{}) {
		if !*quiet {
			fmt.Fprintf(os.Stderr, "memberlist-g1: "+f+"\n", a...)
		}
	}
	sink := &suspectSink{}
	mc := metrics.DefaultConfig("")
	mc.EnableHostname = false
	mc.EnableRuntimeMetrics = false
	if _, err := metrics.NewGlobal(mc, sink); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	r := &recorder{names: map[string]int{}}
	nw := &network{s: s, r: r, rng: rand.New(rand.NewSource(s.seed)), byAddr: map[string]*transport{},
		mirror: newMirror(s.n, r)}
	for i := 0; i < s.n; i++ {
		t := &transport{nw: nw, idx: i, ip: net.IPv4(10, 0, byte(i>>8), byte(i)), port: 7946,
			packetCh: make(chan *memberlist.Packet, 4096), streamCh: make(chan net.Conn, 64),
			dead: make(chan struct{})}
		t.addr = net.JoinHostPort(t.ip.String(), "7946")
		nw.nodes = append(nw.nodes, t)
		nw.byAddr[t.addr] = t
		r.names[fmt.Sprintf("n%d", i)] = i
	}
	var errs int64
	lists := make([]*memberlist.Memberlist, s.n)
	for i := 0; i < s.n; i++ {
		c := memberlist.DefaultLANConfig()
		c.Name = fmt.Sprintf("n%d", i)
		c.Transport = nw.nodes[i]
		c.ProbeInterval = s.period
		c.ProbeTimeout = s.timeout
		c.PushPullInterval = s.pushPull
		c.DisableTcpPings = !*tcpPings
		c.EnableCompression = *compress
		c.Events = &events{r, nw.mirror, i}
		c.Logger = log.New(&logSink{r, nw.mirror, i, &errs}, "", 0)
		if lists[i], err = memberlist.Create(c); err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			os.Exit(1)
		}
	}
	for i := 1; i < s.n; i++ {
		if _, err := lists[i].Join([]string{nw.nodes[0].addr}); err != nil {
			fmt.Fprintln(os.Stderr, "join:", err)
			os.Exit(1)
		}
	}
	// Warm-up: every member knows every other one as alive (a join storm is
	// not part of the measure). On a loaded machine memberlist can flap
	// here; after 120 s the run goes on and says so in the event file.
	converged := false
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); {
		converged = true
		for _, l := range lists {
			converged = converged && l.NumMembers() == s.n
		}
		if converged {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !converged {
		fmt.Fprintln(os.Stderr, "memberlist-g1: WARNING members did not converge within 120 s; running anyway")
	}
	progress("%d members up (converged %v); settling 2 s", s.n, converged)
	time.Sleep(2 * time.Second)

	// The measured run.
	suspect0 := atomic.LoadInt64(&sink.n)
	t0 := time.Now()
	r.t0.Store(t0)
	r.endAt.Store(t0.Add(s.duration))
	atomic.StoreInt32(&nw.started, 1)
	crashed := make([]int32, s.n)
	for m, at := range s.crashAt {
		m, at := m, at
		time.AfterFunc(time.Until(t0.Add(at)), func() {
			t := nw.nodes[m]
			atomic.StoreInt32(&t.crashed, 1)
			atomic.StoreInt32(&crashed[m], 1)
			close(t.dead)
			lists[m].Shutdown()
		})
	}
	end := t0.Add(s.duration)
	// Timer lateness of this process: how late a 10 ms sleep wakes up, the
	// scheduling noise every memberlist timeout (100 ms here) sees.
	var lagMu sync.Mutex
	var lags []float64
	go func() {
		for time.Now().Before(end) {
			a := time.Now()
			time.Sleep(10 * time.Millisecond)
			l := float64(time.Since(a)-10*time.Millisecond) / 1e6
			lagMu.Lock()
			lags = append(lags, l)
			lagMu.Unlock()
		}
	}()
	for next := 10 * time.Second; next < s.duration; next += 10 * time.Second {
		time.Sleep(time.Until(t0.Add(next)))
		progress("%v of %v", next, s.duration)
	}
	time.Sleep(time.Until(end))
	suspectTotal := atomic.LoadInt64(&sink.n) - suspect0
	bytesSent := atomic.LoadInt64(&r.bytes)

	r.mu.Lock()
	ev := append([]event(nil), r.ev...)
	r.mu.Unlock()
	sort.SliceStable(ev, func(a, b int) bool { return ev[a].t < ev[b].t })
	var out bytes.Buffer
	fmt.Fprintf(&out, "# peer hashicorp/memberlist 0.2.2 (Debian), %d members, tcp_pings=%v, compression=%v, stall_send=%s\n",
		s.n, *tcpPings, *compress, *stallSend)
	lagMu.Lock()
	sort.Float64s(lags)
	if k := len(lags); k > 0 {
		fmt.Fprintf(&out, "# timer_lag_ms_p50_p99_max %.1f %.1f %.1f\n", lags[k/2], lags[(k*99)/100], lags[k-1])
	}
	lagMu.Unlock()
	fmt.Fprintf(&out, "# warmup_converged %v\n", converged)
	fmt.Fprintf(&out, "# has_origin 1\n# bytes %d\n# suspect_total %d\n# log_errors %d\n",
		bytesSent, suspectTotal, atomic.LoadInt64(&errs))
	for _, l := range r.errLines {
		fmt.Fprintf(&out, "# err %s\n", l)
	}
	for _, e := range ev {
		fmt.Fprintf(&out, "%.1f %d %s %d\n", e.t, e.member, e.kind, e.node)
	}
	if err := os.WriteFile(flag.Arg(1), out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	progress("done: %d events, %d suspect transitions (memberlist's count)", len(ev), suspectTotal)
	for i, l := range lists {
		if atomic.LoadInt32(&crashed[i]) == 0 {
			l.Shutdown()
		}
	}
}
