// html_report.cpp - see html_report.hpp.
#include "html_report.hpp"

#include <nlohmann/json.hpp>

namespace vmm::profiler {
namespace {

using nlohmann::json;

// A histogram's non-empty buckets as [lower, upper, count] rows.
json histogram_rows(const LogHistogram &h)
{
    json rows = json::array();
    for (std::size_t b = 0; b < LogHistogram::kBuckets; ++b) {
        if (const uint64_t n = h.bucket_count(b))
            rows.push_back({LogHistogram::lower_bound(b), LogHistogram::upper_bound(b), n});
    }
    return rows;
}

json figures(const Summary &sum, double seconds, double ns_per_tick)
{
    // Timelines end at the last bucket any vCPU used.
    std::size_t used = 0;
    for (const auto &[vcpu, counts] : sum.timeline) {
        for (std::size_t i = counts.size(); i > used; --i) {
            if (counts[i - 1] != 0) {
                used = i;
                break;
            }
        }
    }
    json vcpus = json::object();
    for (const auto &[vcpu, counts] : sum.timeline)
        vcpus[vcpu == kMaxVcpus ? "64+" : std::to_string(vcpu)] =
            std::vector<uint64_t>(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(used));
    json reasons = json::array();
    json histograms = json::array();
    histograms.push_back({{"name", "all exits"}, {"rows", histogram_rows(sum.handling)}});
    for (const auto &[reason, totals] : sum.reasons) {
        reasons.push_back({{"name", totals.name}, {"count", totals.count}});
        histograms.push_back({{"name", totals.name}, {"rows", histogram_rows(totals.handling)}});
    }
    json devices = json::array();
    for (const auto &[device, count] : sum.devices)
        devices.push_back({{"name", device}, {"count", count}});
    return {{"exits", sum.exits},
            {"seconds", seconds},
            {"timeline", {{"width_ms", static_cast<double>(sum.timeline_width) * ns_per_tick / 1e6}, {"vcpus", vcpus}}},
            {"by_reason", reasons},
            {"by_device", devices},
            {"histograms", histograms}};
}

// Drawn in the page, so the file stays small for a long run and the charts
// are real DOM elements a test (or a reader's browser tools) can inspect.
constexpr const char *kScript = R"JS(
(function () {
  const data = JSON.parse(document.getElementById('figures').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const colours = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) {
    const t = el('text', { x: x, y: y, 'font-size': 11, 'text-anchor': anchor || 'start' }, parent);
    t.textContent = s;
    return t;
  }
  function chart(id, title) {
    const box = document.getElementById(id);
    const h = document.createElement('h2');
    h.textContent = title;
    box.appendChild(h);
    return el('svg', { width: 720, height: 260, viewBox: '0 0 720 260', class: 'chart' }, box);
  }
  // Horizontal bars: one per label.
  function bars(id, title, rows) {
    const svg = chart(id, title);
    const max = Math.max(1, ...rows.map(r => r.count));
    const step = Math.min(28, 230 / Math.max(1, rows.length));
    rows.forEach((r, i) => {
      const y = 10 + i * step;
      text(svg, 150, y + step * 0.6, r.name, 'end');
      el('rect', { x: 160, y: y, width: Math.max(1, 480 * r.count / max), height: step * 0.8,
                   fill: colours[i % colours.length], 'data-count': r.count }, svg);
      text(svg, 165 + 480 * r.count / max, y + step * 0.6, String(r.count));
    });
  }
  // Exits per bucket of time, one polyline per vCPU.
  function timeline(id, title, t) {
    const svg = chart(id, title);
    const names = Object.keys(t.vcpus);
    const n = Math.max(1, ...names.map(v => t.vcpus[v].length));
    const max = Math.max(1, ...names.flatMap(v => t.vcpus[v]));
    el('line', { x1: 50, y1: 220, x2: 700, y2: 220, stroke: '#888' }, svg);
    text(svg, 50, 240, '0 ms');
    text(svg, 700, 240, (n * t.width_ms).toFixed(1) + ' ms', 'end');
    text(svg, 45, 20, String(max), 'end');
    names.forEach((v, i) => {
      const points = t.vcpus[v].map((c, k) => (50 + 650 * (k + 0.5) / n).toFixed(1) + ',' +
                                               (220 - 200 * c / max).toFixed(1)).join(' ');
      el('polyline', { points: points || '50,220', fill: 'none', stroke: colours[i % colours.length],
                       'stroke-width': 2, 'data-vcpu': v }, svg);
      text(svg, 60 + 80 * i, 255, 'vCPU ' + v).setAttribute('fill', colours[i % colours.length]);
    });
  }
  // Log-bucket histogram: one bar per non-empty bucket, labelled in µs.
  function histogram(id, title, rows) {
    const svg = chart(id, title);
    const max = Math.max(1, ...rows.map(r => r[2]));
    const w = 650 / Math.max(1, rows.length);
    rows.forEach((r, i) => {
      const h = 200 * r[2] / max;
      el('rect', { x: 50 + i * w, y: 220 - h, width: Math.max(1, w - 2), height: Math.max(1, h),
                   fill: '#4e79a7', 'data-count': r[2] }, svg);
    });
    if (rows.length) {
      text(svg, 50, 240, (rows[0][0] / 1000).toFixed(1) + ' µs');
      text(svg, 700, 240, (rows[rows.length - 1][1] / 1000).toFixed(1) + ' µs', 'end');
    }
    text(svg, 45, 20, String(max), 'end');
  }
  document.getElementById('headline').textContent =
    data.exits + ' exits in ' + data.seconds.toFixed(3) + ' s';
  timeline('timeline', 'Exits over time, per vCPU (per ' + data.timeline.width_ms.toPrecision(3) + ' ms)',
           data.timeline);
  bars('reasons', 'Exits by reason', data.by_reason);
  bars('devices', 'Exits by device', data.by_device);
  const hist = document.getElementById('histograms');
  data.histograms.forEach((h, i) => {
    const div = document.createElement('div');
    div.id = 'histogram-' + i;
    hist.appendChild(div);
    histogram(div.id, 'Handling time: ' + h.name + ' (log buckets)', h.rows);
  });
  document.body.setAttribute('data-charts', String(document.querySelectorAll('svg.chart').length));
})();
)JS";

std::string escape_html(const std::string &s)
{
    std::string out;
    for (const char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace

std::string html_report(const Summary &sum, double seconds, double ns_per_tick, const std::string &title)
{
    // Inside <script>, "</" could end the element: JSON allows "<\/".
    std::string data = figures(sum, seconds, ns_per_tick).dump(-1, ' ', false, json::error_handler_t::replace);
    for (std::size_t at = data.find("</"); at != std::string::npos; at = data.find("</", at + 3))
        data.replace(at, 2, "<\\/");
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + escape_html(title) +
           "</title>\n<style>body{font-family:sans-serif;margin:2em;color:#222}h2{font-size:1em;margin:1.5em 0 .3em}"
           "svg.chart{background:#fafafa;border:1px solid #ddd}</style>\n</head><body>\n<h1>" +
           escape_html(title) + "</h1>\n<p id=\"headline\"></p>\n<div id=\"timeline\"></div>\n<div id=\"reasons\">"
           "</div>\n<div id=\"devices\"></div>\n<div id=\"histograms\"></div>\n"
           "<script type=\"application/json\" id=\"figures\">" +
           data + "</script>\n<script>" + kScript + "</script>\n</body></html>\n";
}

} // namespace vmm::profiler
