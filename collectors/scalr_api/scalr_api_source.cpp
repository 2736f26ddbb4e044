#include "collectors/scalr_api/scalr_api_source.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <utility>

#include "collectors/scalr_api/page_reader.h"  // next_page_of
#include "model/period.h"
#include "util/log.h"
#include "util/text.h"

namespace scalr_usage {

using std::chrono::milliseconds;

namespace {

constexpr std::string_view kUsagePath = "/api/iacp/v3/usage-statistics";
constexpr std::string_view kRedacted = "xxxxx";  // as collectors/postgres/dsn.h writes a password

bool is_json_media_type(std::string_view content_type) {
  const std::string media = to_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
  return media == "application/vnd.api+json" || media == "application/json";
}

// Transport failures worth another try; the others (cancelled, too_large) would only repeat.
bool is_retryable_transport_error(ErrorReason reason) {
  return reason == ErrorReason::timeout || reason == ErrorReason::connection;
}

std::string strip_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::function<double()> random_jitter() {
  return [engine = std::mt19937_64{std::random_device{}()},
          uniform = std::uniform_real_distribution<double>{0.0, 1.0}]() mutable {
    return uniform(engine);
  };
}

// Rows of a breakdown summed per breakdown id. A std::map keeps them sorted by id.
struct Breakdown {
  std::string name;
  UsageCounts usage;
};

std::map<std::string, Breakdown> sum_by_breakdown(const std::vector<UsageItem>& rows) {
  std::map<std::string, Breakdown> result;
  for (const auto& row : rows) {
    // fetch_all_pages has rejected rows without breakdown id for breakdown requests.
    Breakdown& entry = result[row.breakdown_id.value_or(std::string())];
    if (entry.name.empty() && row.breakdown_name) entry.name = *row.breakdown_name;
    entry.usage += UsageCounts{row.runs_count, row.runs_seconds};
  }
  return result;
}

// Checks the rows of one page of account_id's sequence: each is of that account and, in a
// breakdown sequence, has a breakdown id, which with its name becomes a label and so must fit
// max_label_length. Throws SourceError, its message prefixed with context (sequence, page,
// account).
void check_rows(const std::vector<UsageItem>& items, const std::string& account_id,
                const std::string& breakdown_by, std::size_t max_label_length,
                const std::string& context) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    const UsageItem& item = items[i];
    const std::string path = "data[" + std::to_string(i) + "]";
    // An empty account id means the server left relationships null; nothing to check then.
    if (!account_id.empty() && !item.account_id.empty() && item.account_id != account_id) {
      throw SourceError(ErrorReason::bad_response,
                        context + path + ".relationships.account.data.id: row of account " +
                            item.account_id + " in a response for another account");
    }
    if (!breakdown_by.empty() && !item.breakdown_id) {
      throw SourceError(ErrorReason::bad_response,
                        context + path + ".attributes.breakdown-id: null in a breakdown_by=" +
                            breakdown_by + " response");
    }
    // Only breakdown rows' ids and names become labels; the rows of the unbroken-down
    // sequence are summed whatever they carry.
    if (!breakdown_by.empty()) {
      try {
        check_label_length(*item.breakdown_id, max_label_length, path + ".attributes.breakdown-id",
                           "scalr.max_label_length");
        if (item.breakdown_name) {
          check_label_length(*item.breakdown_name, max_label_length,
                             path + ".attributes.breakdown-name", "scalr.max_label_length");
        }
      } catch (const SourceError& e) {
        throw SourceError(e.reason(), context + e.what());
      }
    }
  }
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0F];
    }
  }
  return out;
}

// A transport of the source's pool for one fetch, handed back at the end of it (keeping its
// keep-alive connection for the next).
class ScalrApiSource::TransportLease {
 public:
  explicit TransportLease(ScalrApiSource& source) : source_(source) {
    std::unique_lock lock(source.mutex_);
    if (source.idle_transports_.empty() && source.make_transport_) {
      lock.unlock();
      transport_ = source.make_transport_();
      return;
    }
    source.transport_returned_.wait(lock, [&] { return !source.idle_transports_.empty(); });
    transport_ = std::move(source.idle_transports_.back());
    source.idle_transports_.pop_back();
  }
  ~TransportLease() {
    {
      const std::lock_guard lock(source_.mutex_);
      source_.idle_transports_.push_back(std::move(transport_));
    }
    source_.transport_returned_.notify_one();
  }
  TransportLease(const TransportLease&) = delete;
  TransportLease& operator=(const TransportLease&) = delete;
  HttpTransport& operator*() const { return *transport_; }

 private:
  ScalrApiSource& source_;
  std::unique_ptr<HttpTransport> transport_;
};

ScalrApiSource::ScalrApiSource(ScalrTarget target, RequestObserver* observer)
    : ScalrApiSource(std::move(target), std::make_unique<CurlTransport>(), observer,
                     &sleep_unless_stopped, random_jitter(),
                     [] { return std::make_unique<CurlTransport>(); }) {}

ScalrApiSource::ScalrApiSource(ScalrTarget target, std::unique_ptr<HttpTransport> transport,
                               RequestObserver* observer, Sleeper sleeper,
                               std::function<double()> jitter, TransportFactory make_transport)
    : target_(std::move(target)),
      observer_(observer),
      sleeper_(std::move(sleeper)),
      retry_(target_.retry),
      gate_(target_.gate ? target_.gate
                         : std::make_shared<RequestGate>(target_.max_concurrency,
                                                         target_.max_requests_per_second)),
      cache_(target_.cache ? target_.cache
                           : std::make_shared<TargetCache>(target_.name, target_.enrich_interval)),
      jitter_(std::move(jitter)),
      make_transport_(std::move(make_transport)) {
  target_.url = strip_trailing_slashes(std::move(target_.url));
  idle_transports_.push_back(std::move(transport));
}

ScalrApiSource::~ScalrApiSource() = default;

double ScalrApiSource::next_jitter() {
  const std::lock_guard lock(mutex_);
  return jitter_();
}

AccountUsage ScalrApiSource::fetch(const std::string& account_id, const Period& period,
                                   std::stop_token stop) {
  try {
    AccountUsage usage = fetch_usage(account_id, period, stop);
    usage.account_name = account_name(account_id, period, stop);
    if (target_.enrich_workspaces) enrich(usage, stop);
    return usage;
  } catch (const SourceError& e) {
    // The last line of defence: every message that leaves the source is logged and reported.
    throw SourceError(e.reason(), without_token(e.what()));
  }
}

std::string ScalrApiSource::without_token(std::string text) const {
  const std::string& token = target_.token.reveal();
  if (token.empty()) return text;
  for (const std::string& spelling : {token, url_encode(token)}) {
    for (auto at = text.find(spelling); at != std::string::npos;
         at = text.find(spelling, at + kRedacted.size())) {
      text.replace(at, spelling.size(), kRedacted);
    }
  }
  return text;
}

AccountUsage ScalrApiSource::fetch_usage(const std::string& account_id, const Period& period,
                                         std::stop_token stop) {
  // Three sequences rather than deriving everything from one: only the unbroken-down request
  // gives the account total and the days, and the API breaks down by one dimension at a time.
  int pages_left = target_.max_pages;
  const auto daily_rows = fetch_all_pages(account_id, period, "", pages_left, stop);
  const auto environment_rows =
      fetch_all_pages(account_id, period, "environment", pages_left, stop);
  const auto workspace_rows = fetch_all_pages(account_id, period, "workspace", pages_left, stop);

  AccountUsage usage;
  usage.account_id = account_id;
  usage.period = period;

  std::map<std::chrono::year_month_day, UsageCounts> per_day;
  for (const auto& row : daily_rows) {
    const UsageCounts counts{row.runs_count, row.runs_seconds};
    usage.total += counts;
    // A row without a date still counts towards the total; it just belongs to no day.
    if (row.date) per_day[*row.date] += counts;
  }
  usage.daily.reserve(per_day.size());
  for (const auto& [date, counts] : per_day) usage.daily.push_back(DailyUsage{date, counts});

  // Summing per id whether or not the server honoured total=true gives the same totals either way.
  for (auto& [id, entry] : sum_by_breakdown(environment_rows)) {
    usage.environments.push_back(EnvironmentUsage{id, std::move(entry.name), entry.usage});
  }
  for (auto& [id, entry] : sum_by_breakdown(workspace_rows)) {
    WorkspaceUsage workspace;
    workspace.id = id;
    workspace.name = std::move(entry.name);
    workspace.usage = entry.usage;
    usage.workspaces.push_back(std::move(workspace));
  }
  return usage;
}

std::vector<std::string> ScalrApiSource::request_headers() const {
  std::vector<std::string> headers = {"Authorization: Bearer " + target_.token.reveal(),
                                      "Accept: application/vnd.api+json"};
  if (!target_.prefer_profile.empty()) {
    headers.push_back("Prefer: profile=" + target_.prefer_profile);
  }
  return headers;
}

std::string ScalrApiSource::page_url(const std::string& account_id, const Period& period,
                                     const std::string& breakdown_by, int page) const {
  std::string url = target_.url;
  url += kUsagePath;
  char separator = '?';
  const auto add = [&](std::string_view name, std::string_view value) {
    url += separator;
    url += url_encode(name);
    url += '=';
    url += url_encode(value);
    separator = '&';
  };
  if (!account_id.empty()) add("filter[account]", account_id);
  add("filter[date]", scalr_between_filter(period));
  if (!breakdown_by.empty()) {
    add("breakdown_by", breakdown_by);
    add("total", "true");
  }
  add("page[size]", std::to_string(target_.page_size));
  add("page[number]", std::to_string(page));
  return url;
}

std::vector<UsageItem> ScalrApiSource::fetch_all_pages(const std::string& account_id,
                                                       const Period& period,
                                                       const std::string& breakdown_by,
                                                       int& pages_left, std::stop_token stop) {
  const std::vector<std::string> headers = request_headers();
  const std::string sequence =
      breakdown_by.empty() ? "usage-statistics" : "usage-statistics breakdown_by=" + breakdown_by;

  std::vector<UsageItem> rows;
  int page = 1;
  for (;;) {
    --pages_left;  // the request below
    const std::string context =
        sequence + " page " + std::to_string(page) +
        (account_id.empty() ? " of target " + target_.name : " for account " + account_id) + ": ";
    const HttpRequest request{page_url(account_id, period, breakdown_by, page), headers,
                              target_.timeout, target_.max_response_bytes, target_.ca_file};
    const HttpResponse response = get_with_retry(request, account_id, stop);

    UsagePage parsed;
    try {
      parsed = parse_usage_page(response.body);
    } catch (const SourceError& e) {
      throw SourceError(e.reason(), context + e.what());
    }
    check_rows(parsed.items, account_id, breakdown_by, target_.max_label_length, context);
    rows.insert(rows.end(), std::make_move_iterator(parsed.items.begin()),
                std::make_move_iterator(parsed.items.end()));

    const std::optional<int> next =
        jsonapi_detail::next_page_of(parsed.next_page, parsed.total_pages, page, pages_left,
                                     target_.max_pages, context, "for one account in one poll");
    if (!next) return rows;
    page = *next;
  }
}

HttpResponse ScalrApiSource::get_with_retry(const HttpRequest& request,
                                            const std::string& account_id, std::stop_token stop) {
  bool waited_out_pause = false;  // this request's backoff was its own 429's Retry-After
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) throw SourceError(ErrorReason::cancelled, "cancelled");

    std::optional<SourceError> failure;
    std::optional<milliseconds> retry_after;
    HttpResponse response;
    try {
      response = get_once(request, waited_out_pause, stop);
    } catch (const SourceError& e) {
      if (!is_retryable_transport_error(e.reason())) throw;
      failure = SourceError(e.reason(),
                            "Scalr API request for account " + account_id + " failed: " + e.what());
    }

    if (!failure) {
      if (response.status >= 200 && response.status <= 299) {
        if (!is_json_media_type(response.content_type)) {
          throw SourceError(ErrorReason::bad_response,
                            "Scalr API answered HTTP " + std::to_string(response.status) +
                                " for account " + account_id + " with content type \"" +
                                without_token(response.content_type) +
                                "\", expected application/vnd.api+json");
        }
        return response;
      }
      SourceError error(reason_for_status(response.status),
                        "Scalr API returned HTTP " + std::to_string(response.status) +
                            " for account " + account_id + ": " +
                            error_summary(without_token(response.body)));
      if (!is_retryable(response.status)) throw error;
      if (response.retry_after) {
        retry_after = parse_retry_after(*response.retry_after, std::chrono::system_clock::now());
      }
      // The server's rate limit is the target's, not this request's: every request to the target
      // waits it out (capped like the retry's own wait).
      if (response.status == 429 && retry_after) {
        gate_->pause_until(RequestGate::Clock::now() +
                           std::min<milliseconds>(*retry_after, target_.retry.max_backoff));
      }
      failure = std::move(error);
    }

    const auto delay = retry_.delay_before_retry(attempt, retry_after, next_jitter());
    if (!delay) {
      const std::string attempts =
          attempt == 1 ? "1 attempt" : std::to_string(attempt) + " attempts";
      throw SourceError(failure->reason(),
                        std::string(failure->what()) + " (gave up after " + attempts + ")");
    }
    log::debug("retrying Scalr API request", {{"account", account_id},
                                              {"attempt", std::to_string(attempt)},
                                              {"reason", to_string(failure->reason())},
                                              {"delay_ms", std::to_string(delay->count())},
                                              {"error", failure->what()}});
    if (!sleeper_(*delay, stop)) {
      throw SourceError(ErrorReason::cancelled, "cancelled during retry backoff");
    }
    waited_out_pause = retry_after.has_value() && failure->reason() == ErrorReason::rate_limited;
  }
}

HttpResponse ScalrApiSource::get_once(const HttpRequest& request, bool paused_already_waited,
                                      std::stop_token stop) {
  const std::optional<RequestGate::Permit> permit = gate_->enter(stop, paused_already_waited);
  if (!permit) throw SourceError(ErrorReason::cancelled, "cancelled");
  const TransportLease transport(*this);
  const auto started = std::chrono::steady_clock::now();
  HttpResponse response = (*transport).get(request, stop);
  if (observer_ != nullptr) {
    observer_->on_response(
        target_.name, response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return response;
}

}  // namespace scalr_usage
