// /dev/shm region lifecycle: create (initialise headers, publish magic last), attach (validate),
// doorbell (shared futex so a consumer in any process can sleep instead of spinning).
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "kestrel/ring.h"

namespace kestrel {
namespace {

std::string errno_text(const char* what, const std::string& name) {
  return std::string(what) + " /dev/shm/" + name + ": " + std::strerror(errno);
}

void validate_name(const std::string& name) {
  if (name.empty() || name.size() > 200) throw RegionError("BAD_REGION_NAME", "region name must be 1..200 characters");
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) throw RegionError("BAD_REGION_NAME", "region name may only contain [A-Za-z0-9._-]: " + name);
  }
}

bool is_pow2(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// RAII fd so every early throw closes it.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void init_ring(char* at, std::uint64_t capacity, std::uint32_t record_size, std::uint32_t kind, std::uint32_t symbol) {
  auto* h = reinterpret_cast<RingHeader*>(at);
  h->capacity = capacity;
  h->mask = capacity - 1;
  h->record_size = record_size;
  h->ring_kind = kind;
  h->symbol_id = symbol;
  // head/tail/counters and all slots are zero from ftruncate: sequence word 0 = never written.
}

long futex(std::uint32_t* addr, int op, std::uint32_t val, const timespec* ts) {
  return ::syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}

}  // namespace

ShmRegion ShmRegion::create(const Options& o, const char* const* symbol_names, bool replace) {
  validate_name(o.name);
  if (o.symbols == 0 || o.symbols > kMaxTickRings)
    throw RegionError("BAD_REGION_OPTIONS", "symbols must be 1.." + std::to_string(kMaxTickRings));
  if (!is_pow2(o.tick_capacity) || o.tick_capacity < 16 || o.tick_capacity > (1u << 24))
    throw RegionError("BAD_REGION_OPTIONS", "tickCapacity must be a power of two in 16..16777216");
  if (!is_pow2(o.signal_capacity) || o.signal_capacity < 16 || o.signal_capacity > (1u << 24))
    throw RegionError("BAD_REGION_OPTIONS", "signalCapacity must be a power of two in 16..16777216");
  const std::string shm = "/" + o.name;
  if (replace) ::shm_unlink(shm.c_str());
  Fd fd;
  fd.fd = ::shm_open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd.fd < 0) {
    if (errno == EEXIST) throw RegionError("REGION_EXISTS", "region already exists: /dev/shm/" + o.name);
    throw RegionError("REGION_CREATE_FAILED", errno_text("shm_open", o.name));
  }
  const RegionGeometry g = region_geometry(o.symbols, o.tick_capacity, o.signal_capacity);
  if (::ftruncate(fd.fd, static_cast<off_t>(g.total)) != 0) {
    const std::string msg = errno_text("ftruncate", o.name);
    ::shm_unlink(shm.c_str());
    throw RegionError("REGION_CREATE_FAILED", msg);
  }
  void* p = ::mmap(nullptr, g.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (p == MAP_FAILED) {
    const std::string msg = errno_text("mmap", o.name);
    ::shm_unlink(shm.c_str());
    throw RegionError("REGION_CREATE_FAILED", msg);
  }
  ShmRegion r;
  r.base_ = static_cast<char*>(p);
  r.size_ = g.total;
  r.name_ = o.name;
  r.owner_ = true;
  auto* h = r.header();
  h->version = kLayoutVersion;
  h->header_size = kRegionHeaderSize;
  h->region_size = g.total;
  h->tick_ring_count = o.symbols;
  h->tick_capacity = o.tick_capacity;
  h->signal_capacity = o.signal_capacity;
  h->tick_record_size = kTickEntrySize;
  h->signal_record_size = kSignalRecordSize;
  h->ring_header_size = kRingHeaderSize;
  h->symbols_offset = g.symbols_offset;
  h->tick_rings_offset = g.tick_rings_offset;
  h->tick_ring_stride = g.tick_ring_stride;
  h->signal_ring_offset = g.signal_ring_offset;
  h->creator_pid = static_cast<std::uint32_t>(::getpid());
  for (std::uint32_t i = 0; i < o.symbols; ++i) {
    init_ring(r.base_ + g.tick_rings_offset + g.tick_ring_stride * i, o.tick_capacity, kTickEntrySize, 0, i);
    if (symbol_names && symbol_names[i]) {
      char* dst = r.base_ + g.symbols_offset + std::uint64_t(i) * kSymbolNameSize;
      std::strncpy(dst, symbol_names[i], kSymbolNameSize - 1);
    }
  }
  init_ring(r.base_ + g.signal_ring_offset, o.signal_capacity, kSignalRecordSize, 1, 0xFFFFFFFFu);
  // Magic last: attachers treat a region without it as still being initialised.
  as_atomic(h->magic).store(kRegionMagic, std::memory_order_release);
  return r;
}

ShmRegion ShmRegion::attach(const std::string& name) {
  validate_name(name);
  const std::string shm = "/" + name;
  Fd fd;
  fd.fd = ::shm_open(shm.c_str(), O_RDWR, 0);
  if (fd.fd < 0) {
    if (errno == ENOENT) throw RegionError("REGION_NOT_FOUND", "no region /dev/shm/" + name);
    throw RegionError("REGION_ATTACH_FAILED", errno_text("shm_open", name));
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw RegionError("REGION_ATTACH_FAILED", errno_text("fstat", name));
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < kRegionHeaderSize)
    throw RegionError("REGION_LAYOUT_MISMATCH", "region /dev/shm/" + name + " is too small to be a Kestrel region");
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (p == MAP_FAILED) throw RegionError("REGION_ATTACH_FAILED", errno_text("mmap", name));
  ShmRegion r;
  r.base_ = static_cast<char*>(p);
  r.size_ = size;
  r.name_ = name;
  r.owner_ = false;
  auto* h = r.header();
  // The creator may still be initialising: wait up to ~1 s for the magic.
  for (int i = 0; i < 1000 && as_atomic(h->magic).load(std::memory_order_acquire) != kRegionMagic; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (as_atomic(h->magic).load(std::memory_order_acquire) != kRegionMagic)
    throw RegionError("REGION_LAYOUT_MISMATCH", "region /dev/shm/" + name + " has no Kestrel magic");
  if (h->version != kLayoutVersion || h->tick_record_size != kTickEntrySize ||
      h->signal_record_size != kSignalRecordSize || h->ring_header_size != kRingHeaderSize)
    throw RegionError("REGION_LAYOUT_MISMATCH", "region /dev/shm/" + name + " has layout version " +
                                                    std::to_string(h->version) + ", this addon speaks " +
                                                    std::to_string(kLayoutVersion));
  const RegionGeometry g = region_geometry(h->tick_ring_count, h->tick_capacity, h->signal_capacity);
  if (g.total != h->region_size || g.total > size || g.tick_rings_offset != h->tick_rings_offset ||
      g.signal_ring_offset != h->signal_ring_offset)
    throw RegionError("REGION_LAYOUT_MISMATCH", "region /dev/shm/" + name + " geometry does not match its header");
  return r;
}

ShmRegion& ShmRegion::operator=(ShmRegion&& o) noexcept {
  if (this != &o) {
    if (base_) ::munmap(base_, size_);
    base_ = o.base_;
    size_ = o.size_;
    name_ = std::move(o.name_);
    owner_ = o.owner_;
    o.base_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

ShmRegion::~ShmRegion() {
  if (base_) ::munmap(base_, size_);
}

TickRing ShmRegion::tick_ring(std::uint32_t i) const noexcept {
  const auto* h = header();
  char* at = base_ + h->tick_rings_offset + h->tick_ring_stride * i;
  return TickRing(reinterpret_cast<RingHeader*>(at), reinterpret_cast<TickEntry*>(at + kRingHeaderSize));
}

SignalRing ShmRegion::signal_ring() const noexcept {
  char* at = base_ + header()->signal_ring_offset;
  return SignalRing(reinterpret_cast<RingHeader*>(at), reinterpret_cast<SignalRecord*>(at + kRingHeaderSize));
}

std::string ShmRegion::symbol_name(std::uint32_t i) const {
  const char* s = base_ + header()->symbols_offset + std::uint64_t(i) * kSymbolNameSize;
  return std::string(s, ::strnlen(s, kSymbolNameSize));
}

void ShmRegion::unlink() noexcept {
  if (!name_.empty()) ::shm_unlink(("/" + name_).c_str());
}

void ShmRegion::ring_doorbell() noexcept {
  auto* h = header();
  if (as_atomic(h->doorbell_waiters).load(std::memory_order_seq_cst) == 0) return;
  as_atomic(h->doorbell).fetch_add(1, std::memory_order_seq_cst);
  futex(&h->doorbell, FUTEX_WAKE, INT32_MAX, nullptr);  // shared futex: works across processes
}

void ShmRegion::wake_all() noexcept {
  auto* h = header();
  as_atomic(h->doorbell).fetch_add(1, std::memory_order_seq_cst);
  futex(&h->doorbell, FUTEX_WAKE, INT32_MAX, nullptr);
}

void ShmRegion::wait_doorbell(std::uint32_t seen, std::int64_t timeout_ns) noexcept {
  timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
  futex(&header()->doorbell, FUTEX_WAIT, seen, &ts);
}

}  // namespace kestrel
