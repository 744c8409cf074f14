/* mqws-bench: SVG chart of the timeline (see plot.h).
 * SPDX-License-Identifier: MIT */
#include "plot.h"

#include <math.h>
#include <stdio.h>

#define W      900.0
#define PANEL  220.0
#define LEFT   80.0
#define RIGHT  80.0
#define TOP    70.0
#define GAP    70.0
#define BOTTOM 50.0

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
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

/* A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above v. */
static double nice_max(double v) {
    if (!(v > 0))
        return 1.0;
    double p = pow(10.0, floor(log10(v)));
    double m = v / p;
    double n = m <= 1.0 ? 1.0 : m <= 2.0 ? 2.0 : m <= 5.0 ? 5.0 : 10.0;
    return n * p;
}

static void fmt_num(char *buf, size_t cap, double v) {
    if (v >= 1e6)
        snprintf(buf, cap, "%gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%gk", v / 1e3);
    else
        snprintf(buf, cap, "%g", v);
}

typedef struct axis {
    double x0, y0, w, h; /* plot area, y0 = top */
    double tmax, ymax, y2max;
} axis;

static double px(const axis *a, double t) { return a->x0 + a->w * (a->tmax > 0 ? t / a->tmax : 0); }
static double py(const axis *a, double v, double max) { return a->y0 + a->h * (1.0 - v / max); }

static void frame(FILE *f, const axis *a, const char *ylabel, const char *y2label) {
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#fff' stroke='#999'/>\n",
            a->x0, a->y0, a->w, a->h);
    char buf[32];
    for (int i = 0; i <= 4; i++) {
        double y = a->y0 + a->h * i / 4.0;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#eee'/>\n", a->x0, y,
                a->x0 + a->w, y);
        fmt_num(buf, sizeof buf, a->ymax * (4 - i) / 4.0);
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='end' class='t'>%s</text>\n", a->x0 - 6,
                y + 4, buf);
        if (y2label) {
            fmt_num(buf, sizeof buf, a->y2max * (4 - i) / 4.0);
            fprintf(f, "<text x='%.1f' y='%.1f' class='t' fill='#777'>%s</text>\n",
                    a->x0 + a->w + 6, y + 4, buf);
        }
    }
    /* time ticks every 1, 2, 5, 10, 20, 30, 60, ... seconds: at most 10 of them */
    static const double steps[] = {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600};
    double step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (a->tmax / steps[i] <= 10) {
            step = steps[i];
            break;
        }
    for (double t = 0; t <= a->tmax + 1e-9; t += step)
        fprintf(f, "<text x='%.1f' y='%.1f' text-anchor='middle' class='t'>%g</text>\n", px(a, t),
                a->y0 + a->h + 16, t);
    fprintf(f,
            "<text x='%.1f' y='%.1f' class='l' transform='rotate(-90 %.1f %.1f)' "
            "text-anchor='middle'>",
            a->x0 - 55, a->y0 + a->h / 2, a->x0 - 55, a->y0 + a->h / 2);
    esc(f, ylabel);
    fputs("</text>\n", f);
    if (y2label) {
        fprintf(f,
                "<text x='%.1f' y='%.1f' class='l' fill='#777' transform='rotate(90 %.1f %.1f)' "
                "text-anchor='middle'>",
                a->x0 + a->w + 55, a->y0 + a->h / 2, a->x0 + a->w + 55, a->y0 + a->h / 2);
        esc(f, y2label);
        fputs("</text>\n", f);
    }
}

/* A polyline of one series; points with a negative value break the line. */
enum field { F_SENT, F_RECV, F_P50, F_P99, F_MAX };

static double get(const bench_sample *s, enum field fl) {
    switch (fl) {
        case F_SENT:
            return s->sent_per_s;
        case F_RECV:
            return s->recv_per_s;
        case F_P50:
            return s->p50_ms;
        case F_P99:
            return s->p99_ms;
        default:
            return s->max_ms;
    }
}

static void series(FILE *f, const axis *a, const bench_sample *v, size_t n, enum field fl,
                   double max, const char *color, const char *dash) {
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        double y = get(&v[i], fl);
        if (y < 0) {
            if (open)
                fputs("'/>\n", f);
            open = 0;
            continue;
        }
        if (y > max)
            y = max;
        if (!open) {
            fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.8'%s%s%s points='", color,
                    dash ? " stroke-dasharray='" : "", dash ? dash : "", dash ? "'" : "");
            open = 1;
        }
        fprintf(f, "%.1f,%.1f ", px(a, v[i].t), py(a, y, max));
    }
    if (open)
        fputs("'/>\n", f);
}

static void legend(FILE *f, double x, double y, const char *color, const char *dash,
                   const char *label) {
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'%s%s%s/>",
            x, y - 4, x + 22, y - 4, color, dash ? " stroke-dasharray='" : "", dash ? dash : "",
            dash ? "'" : "");
    fprintf(f, "<text x='%.1f' y='%.1f' class='t'>", x + 27, y);
    esc(f, label);
    fputs("</text>\n", f);
}

int bench_plot_svg(const char *path, const bench_sample *v, size_t n, const char *title,
                   const char *subtitle) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    double H = TOP + 2 * PANEL + GAP + BOTTOM;
    double tmax = n ? v[n - 1].t : 1.0, rmax = 0, cmax = 0, lmax = 0;
    for (size_t i = 0; i < n; i++) {
        rmax = fmax(rmax, fmax(v[i].sent_per_s, v[i].recv_per_s));
        cmax = fmax(cmax, (double)v[i].conns);
        lmax = fmax(lmax, v[i].p99_ms);
    }
    /* The max series may spike far above p99: scale the panel to p99 and clip max at the top. */
    double lmax_all = lmax;
    for (size_t i = 0; i < n; i++)
        lmax_all = fmax(lmax_all, v[i].max_ms);
    lmax = nice_max(lmax_all > 4 * lmax && lmax > 0 ? 2 * lmax : lmax_all);
    axis top = {LEFT,           TOP,           W - LEFT - RIGHT, PANEL, tmax > 0 ? tmax : 1,
                nice_max(rmax), nice_max(cmax)};
    axis bot = {LEFT, TOP + PANEL + GAP, W - LEFT - RIGHT, PANEL, top.tmax, lmax, 0};

    fprintf(f,
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
            "viewBox='0 0 %.0f %.0f' font-family='sans-serif'>\n"
            "<style>.t{font-size:11px}.l{font-size:12px}.h{font-size:15px;font-weight:bold}"
            "</style>\n"
            "<rect width='100%%' height='100%%' fill='#fafafa'/>\n",
            W, H, W, H);
    fprintf(f, "<text x='%.1f' y='24' class='h'>", LEFT);
    esc(f, title);
    fprintf(f, "</text>\n<text x='%.1f' y='42' class='t' fill='#555'>", LEFT);
    esc(f, subtitle);
    fputs("</text>\n", f);

    frame(f, &top, "messages / s", "connections");
    series(f, &top, v, n, F_SENT, top.ymax, "#1f77b4", NULL);
    series(f, &top, v, n, F_RECV, top.ymax, "#2ca02c", "6 3");
    /* connections is an integer field: draw it from a converted copy */
    fputs("<polyline fill='none' stroke='#999' stroke-width='1.5' stroke-dasharray='2 3' points='",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.1f,%.1f ", px(&top, v[i].t), py(&top, (double)v[i].conns, top.y2max));
    fputs("'/>\n", f);
    legend(f, LEFT + 5, TOP - 8, "#1f77b4", NULL, "sent/s");
    legend(f, LEFT + 95, TOP - 8, "#2ca02c", "6 3", "received/s");
    legend(f, LEFT + 205, TOP - 8, "#999", "2 3", "connections (right axis)");

    frame(f, &bot, "latency (ms)", NULL);
    series(f, &bot, v, n, F_MAX, bot.ymax, "#d62728", "2 2");
    series(f, &bot, v, n, F_P99, bot.ymax, "#ff7f0e", NULL);
    series(f, &bot, v, n, F_P50, bot.ymax, "#9467bd", NULL);
    legend(f, LEFT + 5, bot.y0 - 8, "#9467bd", NULL, "p50");
    legend(f, LEFT + 75, bot.y0 - 8, "#ff7f0e", NULL, "p99");
    legend(f, LEFT + 145, bot.y0 - 8, "#d62728", "2 2", "max (clipped)");
    fprintf(f,
            "<text x='%.1f' y='%.1f' text-anchor='middle' class='l'>seconds since start</text>\n",
            LEFT + (W - LEFT - RIGHT) / 2, H - 12);
    fputs("</svg>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
