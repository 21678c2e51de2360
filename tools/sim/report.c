/* SPDX-License-Identifier: MIT */
/* Text summary, text timeline, JSON and self-contained HTML/SVG reports of a
 * simulation. Everything printed is a function of the result, so the same
 * seed gives the same bytes (wall-clock speed is only printed when asked). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "sim.h"

static const sim_scenario_t *scenario_of(const sim_result_t *r)
{
    return sim_result_scenario(r);
}

static const char *role_name(unsigned r)
{
    switch (r) {
    case SIM_ROLE_FOLLOWER:
        return "follower";
    case SIM_ROLE_CANDIDATE:
        return "candidate";
    case SIM_ROLE_LEADER:
        return "leader";
    case SIM_ROLE_OBSERVER:
        return "observer";
    case SIM_ROLE_DOWN:
        return "down";
    }
    return "?";
}

static void ms_str(uint64_t ms, char *b, size_t cap)
{
    snprintf(b, cap, "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
}

void sim_print_violation(FILE *f, const sim_result_t *r)
{
    char cmd[256], t[32];
    sim_replay_command(&r->opts, cmd, sizeof cmd);
    if (r->violation.found) {
        ms_str(r->violation.t, t, sizeof t);
        fprintf(f, "VIOLATION seed %" PRIu64 " step %" PRIu64 " (t=%s): %s\n  %s\n  replay: %s\n",
                r->opts.seed, r->violation.step, t, r->violation.invariant, r->violation.detail,
                cmd);
    } else if (r->lin_checked && r->lin.verdict != LC_LINEARIZABLE) {
        const char *prop = scenario_of(r)->history_property;
        fprintf(f, "VIOLATION seed %" PRIu64 " (end of run): %s: %s\n  %s\n  replay: %s\n",
                r->opts.seed, prop ? prop : "linearizability",
                prop && r->lin.verdict == LC_VIOLATION ? "violated"
                                                       : lc_verdict_name(r->lin.verdict),
                r->lin_detail[0] ? r->lin_detail : "(search budget exhausted)", cmd);
    }
}

void sim_print_summary(FILE *f, const sim_result_t *r)
{
    const sim_stats_t *s = &r->stats;
    char faults[128];
    sim_faults_format(r->opts.faults, faults, sizeof faults);
    fprintf(f,
            "utsim: scenario %s, %u nodes, %u clients, %" PRIu64 " s simulated, seed %" PRIu64
            ", faults %s\n",
            scenario_of(r)->name, r->opts.nodes, r->opts.clients, r->opts.time_ms / 1000,
            r->opts.seed, faults);
    const sim_scenario_t *sc = scenario_of(r);
    for (size_t k = 0; k < sc->n_rows; k++) {
        fprintf(f, "  %-12s ", sc->rows[k].label);
        sim_stat_format(f, sc, s->scen, sc->rows[k].text);
        fputc('\n', f);
    }
    fprintf(f,
            "  operations   %" PRIu64 " invoked: %" PRIu64 " ok, %" PRIu64 " failed, %" PRIu64
            " unknown (%" PRIu64 " given up yet applied; %" PRIu64 " client retries)\n",
            s->ops_total, s->ops_ok, s->ops_failed, s->ops_unknown, s->ops_unknown_applied,
            s->client_retries);
    fprintf(f,
            "  messages     %" PRIu64 " sent, %" PRIu64 " delivered, %" PRIu64 " dropped, %" PRIu64
            " duplicated, %" PRIu64 " rejected; %" PRIu64 " bytes encoded\n",
            s->msgs_sent, s->msgs_delivered, s->msgs_dropped, s->msgs_duplicated, s->msgs_rejected,
            s->bytes_sent);
    fprintf(f,
            "  faults       %" PRIu64 " crashes (%" PRIu64 " %s), %" PRIu64 " restarts, %" PRIu64
            " partitions, %" PRIu64 " isolations,\n"
            "               %" PRIu64 " skewed clocks, %" PRIu64 " lying-disk losses, %" PRIu64
            " power failures\n",
            s->crashes, s->point_crashes, scenario_of(r)->crash_point_text, s->restarts,
            s->partitions, s->isolations, s->skewed_nodes, s->lying_disk_losses, s->power_failures);
    fprintf(f, "  invariants   %" PRIu64 " checks over %" PRIu64 " events (%s): %s\n",
            s->invariant_checks, s->events, scenario_of(r)->invariants,
            r->violation.found ? "VIOLATED" : "all held");
    if (r->violation.found)
        fprintf(f, "  %-12s not checked (the run stopped at the violation)\n",
                sc->history_property ? "history" : "linearizable");
    else if (r->lin_checked && sc->history_property)
        fprintf(f, "  history      %s: %s%s%s\n", sc->history_property,
                r->lin.verdict == LC_LINEARIZABLE ? "holds"
                : r->lin.verdict == LC_VIOLATION  ? "VIOLATED"
                                                  : lc_verdict_name(r->lin.verdict),
                r->lin_detail[0] ? ", " : "", r->lin_detail);
    else if (r->lin_checked)
        fprintf(f, "  linearizable %s (%zu ops over %zu keys, %" PRIu64 " search steps)\n",
                r->lin.verdict == LC_LINEARIZABLE ? "yes" : lc_verdict_name(r->lin.verdict),
                r->lin.n_ops, r->lin.n_keys, r->lin.steps);
    sim_print_violation(f, r);
}

static unsigned role_at(const sim_result_t *r, unsigned i, uint64_t a, uint64_t b)
{
    /* The most telling role within [a, b): leader > down > candidate > follower. */
    static const int rank[] = {1, 2, 4, 0, 3};
    unsigned best = SIM_ROLE_FOLLOWER;
    int br = -1;
    for (size_t k = 0; k < r->n_seg[i]; k++) {
        uint64_t s = r->seg[i][k].t;
        uint64_t e = k + 1 < r->n_seg[i] ? r->seg[i][k + 1].t : r->end_ms + 1;
        if (e <= a || s >= b)
            continue;
        unsigned ro = r->seg[i][k].role;
        if (ro <= SIM_ROLE_DOWN && rank[ro] > br) {
            br = rank[ro];
            best = ro;
        }
    }
    return best;
}

void sim_print_timeline(FILE *f, const sim_result_t *r, unsigned width)
{
    if (!r->opts.record || r->end_ms == 0)
        return;
    if (width < 10)
        width = 10;
    uint64_t span = r->end_ms;
    fprintf(f,
            "timeline (one column = %" PRIu64 " ms; L leader, c candidate, . follower, x down,"
            " # partition)\n",
            (span + width - 1) / width);
    for (unsigned i = 0; i < r->opts.nodes; i++) {
        fprintf(f, "  n%-2u |", i + 1);
        for (unsigned c = 0; c < width; c++) {
            uint64_t a = span * c / width, b = span * (c + 1) / width;
            static const char ch[] = ".cLox";
            fputc(ch[role_at(r, i, a, b)], f);
        }
        fprintf(f, "|\n");
    }
    fprintf(f, "  net |");
    for (unsigned c = 0; c < width; c++) {
        uint64_t a = span * c / width, b = span * (c + 1) / width;
        bool p = false;
        for (size_t k = 0; k < r->n_intervals && !p; k++)
            p = r->intervals[k].kind == 0 && r->intervals[k].start < b && r->intervals[k].end > a;
        fputc(p ? '#' : ' ', f);
    }
    fprintf(f, "|\n");
    const size_t max_lines = 24;
    size_t shown = 0;
    for (size_t k = 0; k < r->n_marks; k++) {
        if (shown == max_lines) {
            fprintf(f, "  ... %zu more events\n", r->n_marks - k);
            break;
        }
        char t[32];
        ms_str(r->marks[k].t, t, sizeof t);
        fprintf(f, "  %10s  %s\n", t, r->marks[k].text);
        shown++;
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void sim_write_json(FILE *f, const sim_result_t *r, double wall_s, double cpu_s)
{
    const sim_stats_t *s = &r->stats;
    char faults[128], cmd[256];
    sim_faults_format(r->opts.faults, faults, sizeof faults);
    sim_replay_command(&r->opts, cmd, sizeof cmd);
    fprintf(f,
            "{\"scenario\":\"%s\",\"seed\":%" PRIu64 ",\"nodes\":%u,\"clients\":%u,\"keys\":%u,"
            "\"time_ms\":%" PRIu64 ",\"faults\":",
            scenario_of(r)->name, r->opts.seed, r->opts.nodes, r->opts.clients, r->opts.keys,
            r->opts.time_ms);
    json_str(f, faults);
    fprintf(f, ",\"ok\":%s,", sim_result_ok(r) ? "true" : "false");
    const sim_scenario_t *sc = scenario_of(r);
    for (size_t k = 0; k < sc->n_stats && k < SIM_MAX_SCENARIO_STATS; k++) {
        json_str(f, sc->stats[k].name);
        fprintf(f, ":%" PRIu64 ",", s->scen[k]);
    }
    fprintf(f,
            "\"ops\":{\"total\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
            ",\"unknown\":%" PRIu64 ",\"unknown_applied\":%" PRIu64 ",\"retries\":%" PRIu64 "},",
            s->ops_total, s->ops_ok, s->ops_failed, s->ops_unknown, s->ops_unknown_applied,
            s->client_retries);
    fprintf(f,
            "\"messages\":{\"sent\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"dropped\":%" PRIu64
            ",\"duplicated\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"bytes_encoded\":%" PRIu64 "},",
            s->msgs_sent, s->msgs_delivered, s->msgs_dropped, s->msgs_duplicated, s->msgs_rejected,
            s->bytes_sent);
    fprintf(f,
            "\"faults_injected\":{\"crashes\":%" PRIu64 ",\"restarts\":%" PRIu64
            ",\"partitions\":%" PRIu64 ",\"isolations\":%" PRIu64 ",\"skewed_clocks\":%" PRIu64
            ",\"lying_disk_losses\":%" PRIu64 ",\"vote_crashes\":%" PRIu64
            ",\"power_failures\":%" PRIu64 "},",
            s->crashes, s->restarts, s->partitions, s->isolations, s->skewed_nodes,
            s->lying_disk_losses, s->point_crashes, s->power_failures);
    fprintf(f, "\"events\":%" PRIu64 ",\"invariant_checks\":%" PRIu64 ",", s->events,
            s->invariant_checks);
    fprintf(f, "\"violation\":");
    if (r->violation.found) {
        fprintf(f, "{\"step\":%" PRIu64 ",\"t_ms\":%" PRIu64 ",\"invariant\":", r->violation.step,
                r->violation.t);
        json_str(f, r->violation.invariant);
        fprintf(f, ",\"detail\":");
        json_str(f, r->violation.detail);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"linearizability\":");
    if (r->lin_checked) {
        fprintf(f, "{\"verdict\":");
        json_str(f, lc_verdict_name(r->lin.verdict));
        if (sc->history_property) {
            fprintf(f, ",\"property\":");
            json_str(f, sc->history_property);
        }
        fprintf(f, ",\"ops\":%zu,\"keys\":%zu,\"steps\":%" PRIu64 ",\"detail\":", r->lin.n_ops,
                r->lin.n_keys, r->lin.steps);
        json_str(f, r->lin_detail);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"replay\":");
    json_str(f, cmd);
    if (wall_s > 0) {
        /* Speed figures vary from run to run: the only non-deterministic
         * fields, and only present when asked for. */
        fprintf(f,
                ",\"speed\":{\"wall_seconds\":%.6f,\"cpu_seconds\":%.6f,"
                "\"deliveries_per_wall_second\":%.0f,\"deliveries_per_cpu_second\":%.0f,"
                "\"events_per_wall_second\":%.0f}",
                wall_s, cpu_s, (double)s->msgs_delivered / wall_s,
                cpu_s > 0 ? (double)s->msgs_delivered / cpu_s : 0.0, (double)s->events / wall_s);
    }
    fprintf(f, "}\n");
}

/* ---- HTML / SVG ------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

#define SVG_W 1300
#define LEFT 70
#define RIGHT 20
#define ROW_H 24
#define CROW_H 16

/* ---- latency and throughput ------------------------------------------------ */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

int sim_latency(const sim_result_t *r, sim_latency_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t *v = malloc((r->n_ops ? r->n_ops : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (size_t k = 0; k < r->n_ops; k++) {
        if (r->op_response_ms[k] == UINT64_MAX || r->ops[k].outcome == LC_UNKNOWN)
            continue;
        uint64_t d = r->op_response_ms[k] - r->op_invoke_ms[k];
        v[n++] = d;
        unsigned b = 0;
        while (b + 1 < SIM_LAT_BINS && d >= (1ull << b))
            b++;
        out->hist[b]++;
    }
    qsort(v, n, sizeof *v, u64_cmp);
    out->n = n;
    if (n) {
        /* Nearest rank: the smallest latency with at least p% at or below. */
        out->p50 = v[(n * 50 + 99) / 100 - 1];
        out->p99 = v[(n * 99 + 99) / 100 - 1];
        out->max = v[n - 1];
    }
    free(v);
    return 0;
}

void sim_latency_bin(unsigned b, uint64_t *lo, uint64_t *hi)
{
    *lo = b ? 1ull << (b - 1) : 0;
    *hi = b + 1 < SIM_LAT_BINS ? 1ull << b : UINT64_MAX;
}

/* ---- HTML / SVG: one run ------------------------------------------------------ */

static const char css[] = "<style>body{font-family:sans-serif;margin:16px;color:#222}"
                          "pre{background:#f6f6f6;padding:8px;font-size:12px}"
                          ".ok{color:#2e7d32}.bad{color:#c62828}"
                          "table{border-collapse:collapse;font-size:13px}"
                          "th,td{border:1px solid #ccc;padding:2px 8px;text-align:right}"
                          "th{background:#eee}td.l{text-align:left;white-space:nowrap}"
                          "td.cmd{text-align:left;font-size:11px;font-weight:normal}"
                          "tr.fail td{background:#ffcdd2;font-weight:bold}"
                          "svg text{font-family:sans-serif;font-size:11px}</style>";

static void svg_open(FILE *f, int w, int h, const char *label)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
            w, h, w, h, label, w, h);
}

/* The step of the time axis's ticks for a run of span ms. */
static uint64_t axis_step(double span)
{
    uint64_t step = 1000;
    while (span / (double)step > 24)
        step *= (step % 3 == 1 || step == 1000) ? 5 : 2;
    return step;
}

/* Completed operations per second of virtual time (by response time), with
 * the faults shaded over the same time axis as the timeline. */
static void html_throughput(FILE *f, const sim_result_t *r)
{
    const double span = r->end_ms ? (double)r->end_ms : 1.0;
    const double plot = SVG_W - LEFT - RIGHT;
    const int top = 20, ch = 160, height = top + ch + 40;
    size_t nb = (size_t)(r->end_ms / 1000) + 1;
    uint64_t *ok = calloc(nb, sizeof *ok), *bad = calloc(nb, sizeof *bad);
    if (!ok || !bad) {
        free(ok);
        free(bad);
        return;
    }
    for (size_t k = 0; k < r->n_ops; k++) {
        uint64_t t = r->op_response_ms[k];
        if (t == UINT64_MAX || t / 1000 >= nb)
            continue;
        if (r->ops[k].outcome == LC_OK)
            ok[t / 1000]++;
        else if (r->ops[k].outcome == LC_FAILED)
            bad[t / 1000]++;
    }
    uint64_t peak = 1;
    for (size_t b = 0; b < nb; b++)
        if (ok[b] + bad[b] > peak)
            peak = ok[b] + bad[b];
    /* The axis: grid lines every half power of ten (5, 50, 500...) under
     * the peak, the top the first of them at or above it. */
    uint64_t grid = 1;
    while (grid * 10 <= peak)
        grid *= 10;
    grid = grid >= 10 ? grid / 2 : 1;
    uint64_t scale = (peak + grid - 1) / grid * grid;
    if (scale / grid > 8)
        grid *= 2;
#define TX(ms) (LEFT + plot * (double)(ms) / span)
#define TY(v) (top + ch - (double)ch * (double)(v) / (double)scale)
    svg_open(f, SVG_W, height, "throughput");
    /* Faults first, under the bars: partitions red, nodes down grey. */
    for (size_t k = 0; k < r->n_intervals; k++) {
        const sim_interval_t *iv = &r->intervals[k];
        uint64_t e = iv->end == UINT64_MAX ? r->end_ms : iv->end;
        fprintf(f,
                "<rect class=\"fault %s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                "fill=\"%s\" fill-opacity=\"%s\"><title>%s %" PRIu64 "-%" PRIu64
                " ms</title></rect>\n",
                iv->kind ? "crash" : "partition", TX(iv->start), top, TX(e) - TX(iv->start), ch,
                iv->kind ? "#616161" : "#e53935", iv->kind ? "0.18" : "0.22",
                iv->kind ? "node down" : "partition", iv->start, e);
    }
    uint64_t step = axis_step(span);
    for (uint64_t t = 0; t <= r->end_ms; t += step)
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64 "s</text>\n",
                TX(t), top, TX(t), top + ch, TX(t), top + ch + 14, t / 1000);
    for (uint64_t v = 0; v <= scale; v += grid) {
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eeeeee\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%" PRIu64 "</text>\n",
                LEFT, TY(v), SVG_W - RIGHT, TY(v), LEFT - 4, TY(v) + 4, v);
    }
    for (size_t b = 0; b < nb; b++) {
        uint64_t a = b * 1000, e = a + 1000 < r->end_ms ? a + 1000 : r->end_ms;
        if (e <= a)
            continue;
        double x = TX(a), w = TX(e) - TX(a) - 0.5;
        if (w < 0.5)
            w = 0.5;
        if (ok[b])
            fprintf(f,
                    "<rect class=\"tput\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                    "fill=\"#1e88e5\"><title>%" PRIu64 "-%" PRIu64 " s: %" PRIu64
                    " ok</title></rect>\n",
                    x, TY(ok[b]), w, (double)ch * (double)ok[b] / (double)scale, a / 1000,
                    e / 1000 + (e % 1000 != 0), ok[b]);
        if (bad[b])
            fprintf(f,
                    "<rect class=\"tput-failed\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                    "height=\"%.2f\" fill=\"#8e24aa\"><title>%" PRIu64 " failed</title></rect>\n",
                    x, TY(ok[b] + bad[b]), w, (double)ch * (double)bad[b] / (double)scale, bad[b]);
    }
    fprintf(f,
            "<text x=\"8\" y=\"%d\">ops/s</text>\n"
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#1e88e5\"/>"
            "<text x=\"%d\" y=\"%d\">ok</text>"
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#8e24aa\"/>"
            "<text x=\"%d\" y=\"%d\">failed</text>"
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#e53935\" "
            "fill-opacity=\"0.22\"/><text x=\"%d\" y=\"%d\">partition</text>"
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"#616161\" "
            "fill-opacity=\"0.18\"/><text x=\"%d\" y=\"%d\">node down</text>\n",
            top + 10, LEFT, height - 18, LEFT + 16, height - 9, LEFT + 120, height - 18, LEFT + 136,
            height - 9, LEFT + 240, height - 18, LEFT + 256, height - 9, LEFT + 360, height - 18,
            LEFT + 376, height - 9);
    fprintf(f, "</svg>\n");
#undef TX
#undef TY
    free(ok);
    free(bad);
}

static void html_latency(FILE *f, const sim_result_t *r)
{
    sim_latency_t l;
    if (sim_latency(r, &l) != 0)
        return;
    fprintf(f,
            "<table class=\"latency\"><tr><th>completed ops</th><th>p50</th><th>p99</th>"
            "<th>max</th></tr>\n<tr><td>%zu</td><td class=\"p50\">%" PRIu64
            " ms</td><td class=\"p99\">%" PRIu64 " ms</td><td class=\"max\">%" PRIu64
            " ms</td></tr></table>\n",
            l.n, l.p50, l.p99, l.max);
    const int W = 900, left = 60, top = 20, ch = 150, height = top + ch + 40;
    const int bw = (W - left - 20) / SIM_LAT_BINS;
    uint64_t peak = 1;
    for (unsigned b = 0; b < SIM_LAT_BINS; b++)
        if (l.hist[b] > peak)
            peak = l.hist[b];
    svg_open(f, W, height, "latency histogram");
    for (unsigned b = 0; b < SIM_LAT_BINS; b++) {
        uint64_t lo, hi;
        sim_latency_bin(b, &lo, &hi);
        double h = (double)ch * (double)l.hist[b] / (double)peak;
        int x = left + (int)b * bw;
        /* Labelled by the lower bound: "<1", 1, 2, 4, ... 512, 1k, ... "8k+". */
        char label[32];
        if (!b)
            snprintf(label, sizeof label, "&lt;1");
        else if (lo >= 1024)
            snprintf(label, sizeof label, "%" PRIu64 "k%s", lo / 1024, hi == UINT64_MAX ? "+" : "");
        else
            snprintf(label, sizeof label, "%" PRIu64 "%s", lo, hi == UINT64_MAX ? "+" : "");
        fprintf(f,
                "<rect class=\"bin\" x=\"%d\" y=\"%.2f\" width=\"%d\" height=\"%.2f\" "
                "fill=\"#43a047\"><title>%" PRIu64 "-%" PRIu64 " ms: %" PRIu64 " ops</title></rect>"
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                x + 1, top + ch - h, bw - 2, h, lo, hi == UINT64_MAX ? lo * 2 : hi, l.hist[b],
                x + bw / 2, top + ch + 14, label);
        if (l.hist[b])
            fprintf(f, "<text x=\"%d\" y=\"%.2f\" text-anchor=\"middle\">%" PRIu64 "</text>",
                    x + bw / 2, top + ch - h - 3, l.hist[b]);
        fputc('\n', f);
    }
    fprintf(f,
            "<text x=\"8\" y=\"%d\">ops</text><text x=\"%d\" y=\"%d\" "
            "text-anchor=\"middle\">latency, ms from invocation to response (a bin from its "
            "label to the next)</text>\n"
            "</svg>\n",
            top + 10, left + (W - left) / 2, height - 6);
}

static const char *verdict_text(const sim_result_t *r)
{
    if (!sim_result_ok(r))
        return "Violation found.";
    return scenario_of(r)->history_property
               ? "All invariants held; the history check passed."
               : "All invariants held; the client history is linearizable.";
}

/* One run's report (everything below the page's head). */
static void html_run(FILE *f, const sim_result_t *r, const char *h1, const char *h2)
{
    const unsigned N = r->opts.nodes, C = r->opts.clients;
    const double span = r->end_ms ? (double)r->end_ms : 1.0;
    const double plot = SVG_W - LEFT - RIGHT;
    const int top = 30;
    const int nodes_h = (int)N * ROW_H;
    const int clients_top = top + nodes_h + 30;
    const int height = clients_top + (int)C * CROW_H + 40;
#define X(ms) (LEFT + plot * (double)(ms) / span)
    char faults[128], cmd[256];
    sim_faults_format(r->opts.faults, faults, sizeof faults);
    sim_replay_command(&r->opts, cmd, sizeof cmd);

    fprintf(f, "<%s>utsim: %s, %u nodes, seed %" PRIu64 "</%s>\n", h1, scenario_of(r)->title, N,
            r->opts.seed, h1);
    fprintf(f, "<p class=\"%s verdict\"><b>%s</b></p>\n", sim_result_ok(r) ? "ok" : "bad",
            verdict_text(r));
    fprintf(f, "<pre>");
    {
        /* The text summary, escaped. */
        char buf[4096];
        FILE *m = fmemopen(buf, sizeof buf, "w");
        if (m) {
            sim_print_summary(m, r);
            fclose(m);
            buf[sizeof buf - 1] = 0;
            xml_text(f, buf);
        }
    }
    fprintf(f, "</pre>\n<p>Replay: <code>");
    xml_text(f, cmd);
    fprintf(f, "</code></p>\n");

    fprintf(f, "<%s>Timeline</%s>\n", h2, h2);
    svg_open(f, SVG_W, height, "timeline");
    /* Time axis. */
    uint64_t step = axis_step(span);
    for (uint64_t t = 0; t <= r->end_ms; t += step) {
        double x = X(t);
        fprintf(
            f,
            "<line class=\"tick\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64 "s</text>\n",
            x, top - 4, x, height - 30, x, top - 8, t / 1000);
    }
    /* Node roles. */
    static const char *colour[] = {"#90caf9", "#ffb300", "#2e7d32", "#b39ddb", "#616161"};
    for (unsigned i = 0; i < N; i++) {
        int y = top + (int)i * ROW_H;
        fprintf(f, "<text x=\"8\" y=\"%d\">node %u</text>\n", y + 15, i + 1);
        for (size_t k = 0; k < r->n_seg[i]; k++) {
            uint64_t s = r->seg[i][k].t;
            uint64_t e = k + 1 < r->n_seg[i] ? r->seg[i][k + 1].t : r->end_ms;
            unsigned ro = r->seg[i][k].role <= SIM_ROLE_DOWN ? r->seg[i][k].role : 0;
            if (e <= s)
                continue;
            fprintf(f,
                    "<rect class=\"role %s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                    "fill=\"%s\"><title>node %u %s term %" PRIu64 " [%" PRIu64 "-%" PRIu64
                    " ms]</title></rect>\n",
                    role_name(ro), X(s), y + 2, X(e) - X(s), ROW_H - 4, colour[ro], i + 1,
                    role_name(ro), r->seg[i][k].term, s, e);
        }
    }
    /* Partitions and crashes shaded over the affected nodes. */
    for (size_t k = 0; k < r->n_intervals; k++) {
        const sim_interval_t *iv = &r->intervals[k];
        uint64_t e = iv->end == UINT64_MAX ? r->end_ms : iv->end;
        for (unsigned i = 0; i < N; i++) {
            if (!((iv->mask >> i) & 1))
                continue;
            int y = top + (int)i * ROW_H;
            fprintf(f,
                    "<rect class=\"%s\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                    "fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\"/>\n",
                    iv->kind ? "crash" : "partition", X(iv->start), y, X(e) - X(iv->start), ROW_H,
                    iv->kind ? "#000000" : "#e53935", iv->kind ? "#000000" : "#e53935");
        }
    }
    /* Violation marker. */
    for (size_t k = 0; k < r->n_marks; k++) {
        if (r->marks[k].kind != SIM_MARK_VIOLATION)
            continue;
        double x = X(r->marks[k].t);
        fprintf(f,
                "<line class=\"violation\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#d50000\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%d\" fill=\"#d50000\" "
                "text-anchor=\"%s\">",
                x, top, x, height - 30, x < SVG_W / 2 ? x + 4 : x - 4, top + nodes_h + 14,
                x < SVG_W / 2 ? "start" : "end");
        xml_text(f, r->marks[k].text);
        fprintf(f, "</text>\n");
    }
    /* Client operations. */
    fprintf(f, "<text x=\"8\" y=\"%d\" font-weight=\"bold\">clients</text>\n", clients_top - 8);
    for (unsigned c = 0; c < C; c++)
        fprintf(f, "<text x=\"8\" y=\"%d\">client %u</text>\n", clients_top + (int)c * CROW_H + 11,
                c + 1);
    /* One bar per operation; runs of same-coloured operations of one client
     * that touch at this scale (gap under half a pixel) merge into one bar,
     * so a long run stays a small file. */
    struct bar {
        double x0, x1;
        const char *fill;
        bool open;
    } bars[SIM_MAX_CLIENTS];
    memset(bars, 0, sizeof bars);
    size_t drawn = 0;
    for (size_t k = 0; k <= r->n_ops; k++) {
        const lc_op_t *o = k < r->n_ops ? &r->ops[k] : NULL;
        double x0 = 0, x1 = 0;
        const char *fill = NULL;
        if (o) {
            uint64_t a = r->op_invoke_ms[k];
            uint64_t b = r->op_response_ms[k] == UINT64_MAX ? r->end_ms : r->op_response_ms[k];
            x0 = X(a);
            x1 = X(b) - X(a) < 1.0 ? X(a) + 1.0 : X(b);
            fill = o->outcome == LC_OK       ? (o->kind == LC_GET ? "#66bb6a" : "#1e88e5")
                   : o->outcome == LC_FAILED ? "#8e24aa"
                                             : "#fb8c00";
            struct bar *br = &bars[o->client];
            if (br->open && br->fill == fill && x0 - br->x1 < 0.5) {
                if (x1 > br->x1)
                    br->x1 = x1;
                continue;
            }
        }
        for (unsigned c = 0; c < C; c++) {
            struct bar *br = &bars[c];
            if (!br->open || (o && c != o->client))
                continue;
            fprintf(f,
                    "<rect class=\"op\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                    "fill=\"%s\"/>\n",
                    br->x0, clients_top + (int)c * CROW_H + 2, br->x1 - br->x0, CROW_H - 4,
                    br->fill);
            br->open = false;
            drawn++;
        }
        if (o) {
            struct bar *br = &bars[o->client];
            br->x0 = x0;
            br->x1 = x1;
            br->fill = fill;
            br->open = true;
        }
    }
    /* Legend. */
    int ly = height - 12;
    static const struct {
        const char *label, *fill;
    } legend[] = {{"follower", "#90caf9"}, {"candidate", "#ffb300"},  {"leader", "#2e7d32"},
                  {"observer", "#b39ddb"}, {"down", "#616161"},       {"partitioned", "#ef9a9a"},
                  {"get ok", "#66bb6a"},   {"put/cas ok", "#1e88e5"}, {"failed", "#8e24aa"},
                  {"unknown", "#fb8c00"}};
    for (size_t k = 0; k < sizeof legend / sizeof legend[0]; k++) {
        int x = LEFT + (int)k * 106;
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\">%s</text>\n",
                x, ly - 9, legend[k].fill, x + 16, ly, legend[k].label);
    }
    fprintf(f, "</svg>\n");
    fprintf(f,
            "<p>%zu client operations in %zu bars (touching operations of one kind merge).</p>\n",
            r->n_ops, drawn);
    fprintf(f,
            "<%s>Completed operations per second</%s>\n<p>By response time, over the "
            "timeline's time axis; faults shaded.</p>\n",
            h2, h2);
    html_throughput(f, r);
    fprintf(f, "<%s>Client latency</%s>\n", h2, h2);
    html_latency(f, r);
    /* Event list. */
    fprintf(f, "<%s>Events</%s>\n<pre>", h2, h2);
    for (size_t k = 0; k < r->n_marks; k++) {
        char t[32];
        ms_str(r->marks[k].t, t, sizeof t);
        fprintf(f, "%10s  ", t);
        xml_text(f, r->marks[k].text);
        fputc('\n', f);
    }
    fprintf(f, "</pre>\n");
#undef X
}

int sim_write_html(FILE *f, const sim_result_t *r)
{
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
            "<title>utsim report: seed %" PRIu64 "</title>\n%s</head><body>\n",
            r->opts.seed, css);
    html_run(f, r, "h1", "h2");
    fprintf(f, "</body></html>\n");
    return ferror(f) ? -1 : 0;
}

/* ---- HTML: a sweep ------------------------------------------------------------ */

int sim_seed_row(const sim_result_t *r, sim_seed_row_t *out)
{
    memset(out, 0, sizeof *out);
    out->seed = r->opts.seed;
    out->ok = sim_result_ok(r);
    const sim_stats_t *s = &r->stats;
    out->ops_total = s->ops_total;
    out->ops_ok = s->ops_ok;
    out->ops_failed = s->ops_failed;
    out->ops_unknown = s->ops_unknown;
    if (r->violation.found)
        snprintf(out->verdict, sizeof out->verdict, "%s", r->violation.invariant);
    else if (!out->ok)
        snprintf(out->verdict, sizeof out->verdict, "%s: %s",
                 scenario_of(r)->history_property ? scenario_of(r)->history_property
                                                  : "linearizability",
                 lc_verdict_name(r->lin.verdict));
    else
        snprintf(out->verdict, sizeof out->verdict, "ok");
    const sim_scenario_t *sc = scenario_of(r);
    if (sc->seed_text) {
        FILE *m = fmemopen(out->roles, sizeof out->roles, "w");
        if (m) {
            sim_stat_format(m, sc, s->scen, sc->seed_text);
            fclose(m);
            out->roles[sizeof out->roles - 1] = 0;
        }
    }
    sim_replay_command(&r->opts, out->replay, sizeof out->replay);
    sim_latency_t l;
    if (sim_latency(r, &l) != 0)
        return -1;
    out->p50 = l.p50;
    out->p99 = l.p99;
    out->max = l.max;
    return 0;
}

int sim_write_sweep_html(FILE *f, const sim_seed_row_t *rows, size_t n, const sim_result_t *detail)
{
    const sim_scenario_t *sc = scenario_of(detail);
    size_t fails = 0;
    uint64_t peak = 1;
    for (size_t k = 0; k < n; k++) {
        fails += !rows[k].ok;
        if (rows[k].p99 > peak)
            peak = rows[k].p99;
    }
    char faults[128];
    sim_faults_format(detail->opts.faults, faults, sizeof faults);
    uint64_t a = n ? rows[0].seed : 0, b = n ? rows[n - 1].seed : 0;
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n"
            "<title>utsim sweep report: seeds %" PRIu64 "..%" PRIu64 "</title>\n%s</head><body>\n",
            a, b, css);
    fprintf(f,
            "<h1>utsim sweep: %s, %u nodes, seeds %" PRIu64 "..%" PRIu64 "</h1>\n"
            "<p>%zu runs of %" PRIu64 " s, faults %s.</p>\n",
            sc->title, detail->opts.nodes, a, b, n, detail->opts.time_ms / 1000, faults);
    fprintf(f, "<p class=\"%s verdict\"><b>%zu of %zu seeds failed.</b></p>\n",
            fails ? "bad" : "ok", fails, n);
    /* A strip with one bar per seed: its p99 latency, a failing seed red
     * and full height. */
    const int W = SVG_W, top = 10, ch = 80, height = top + ch + 24;
    const double bw = n ? (double)(W - LEFT - RIGHT) / (double)n : 1.0;
    svg_open(f, W, height, "seeds");
    for (size_t k = 0; k < n; k++) {
        double h = rows[k].ok ? (double)ch * (double)rows[k].p99 / (double)peak : ch;
        if (h < 1)
            h = 1;
        fprintf(f,
                "<rect class=\"seed %s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                "fill=\"%s\"><title>seed %" PRIu64 ": %s, p99 %" PRIu64 " ms</title></rect>\n",
                rows[k].ok ? "pass" : "fail", LEFT + bw * (double)k, top + ch - h,
                bw > 1.5 ? bw - 0.5 : bw, h, rows[k].ok ? "#90caf9" : "#d50000", rows[k].seed,
                rows[k].verdict, rows[k].p99);
    }
    fprintf(f,
            "<text x=\"8\" y=\"%d\">p99</text><text x=\"%d\" y=\"%d\">seed %" PRIu64
            "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">seed %" PRIu64 "</text>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">one bar per seed: p99 latency "
            "(max %" PRIu64 " ms); failing seeds red, full height</text>\n</svg>\n",
            top + 10, LEFT, height - 4, a, W - RIGHT, height - 4, b, W / 2, height - 4, peak);
    fprintf(f,
            "<table class=\"seeds\"><tr><th>seed</th><th>verdict</th><th>%s</th><th>ops "
            "ok</th><th>of</th><th>failed</th><th>unknown</th><th>p50 ms</th><th>p99 "
            "ms</th><th>max ms</th><th>replay</th></tr>\n",
            sc->seed_text ? "roles" : "");
    for (size_t k = 0; k < n; k++) {
        const sim_seed_row_t *w = &rows[k];
        fprintf(f, "<tr class=\"%s\"><td>%" PRIu64 "</td><td class=\"l\">", w->ok ? "pass" : "fail",
                w->seed);
        xml_text(f, w->verdict);
        fprintf(f, "</td><td class=\"l\">");
        xml_text(f, w->roles);
        fprintf(f,
                "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
                "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
                "</td><td class=\"cmd\">",
                w->ops_ok, w->ops_total, w->ops_failed, w->ops_unknown, w->p50, w->p99, w->max);
        if (!w->ok) {
            fprintf(f, "<code>");
            xml_text(f, w->replay);
            fprintf(f, "</code>");
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n<p>Below: the run of seed %" PRIu64 " (%s).</p>\n", detail->opts.seed,
            sim_result_ok(detail) ? "the last seed" : "the first failing seed");
    html_run(f, detail, "h2", "h3");
    fprintf(f, "</body></html>\n");
    return ferror(f) ? -1 : 0;
}

int sim_write_history(FILE *f, const sim_result_t *r)
{
    for (size_t i = 0; i < r->n_ops; i++) {
        const lc_op_t *o = &r->ops[i];
        bool ok = o->outcome == LC_OK;
        fprintf(f, "{\"client\":%" PRIu32 ",\"op\":\"%s\",\"key\":%" PRIu32, o->client,
                lc_kind_name((lc_kind_t)o->kind), o->key);
        if (o->kind != LC_GET || ok)
            fprintf(f, ",\"value\":%" PRId64, o->value);
        else
            fprintf(f, ",\"value\":null");
        if (o->kind == LC_CAS) {
            fprintf(f, ",\"expected\":%" PRId64, o->expected);
            if (ok)
                fprintf(f, ",\"cas_ok\":%s,\"seen\":%" PRId64, o->cas_ok ? "true" : "false",
                        r->op_seen[i]);
        }
        fprintf(f, ",\"invoke_ms\":%" PRIu64, r->op_invoke_ms[i]);
        if (r->op_response_ms[i] != UINT64_MAX)
            fprintf(f, ",\"response_ms\":%" PRIu64, r->op_response_ms[i]);
        else
            fprintf(f, ",\"response_ms\":null");
        fprintf(f, ",\"invoke_step\":%" PRIu64, o->invoke);
        if (o->response != LC_INF)
            fprintf(f, ",\"response_step\":%" PRIu64, o->response);
        else
            fprintf(f, ",\"response_step\":null");
        fprintf(f, ",\"outcome\":\"%s\"}\n", lc_outcome_name((lc_outcome_t)o->outcome));
    }
    return ferror(f) ? -1 : 0;
}
