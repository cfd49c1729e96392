-- Reference data (SPEC "Reference Data Service" and "Venue Registry").
-- symbols and venue_symbols are the SPEC tables verbatim plus NOT NULLs and a venue foreign key;
-- venues and venue_symbol_specs hold the venue policy and per-instrument precision/fees of VenueSpec.

CREATE TABLE IF NOT EXISTS symbols (
    id SERIAL PRIMARY KEY,
    canonical_symbol VARCHAR(20) UNIQUE NOT NULL,
    asset_class VARCHAR(10) NOT NULL,
    base_currency VARCHAR(10) NOT NULL,
    quote_currency VARCHAR(10) NOT NULL,
    decimal_places INT NOT NULL CHECK (decimal_places BETWEEN 0 and 18),
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS venues (
    venue VARCHAR(20) PRIMARY KEY,
    venue_id SMALLINT UNIQUE NOT NULL CHECK (venue_id > 0),
    has_private_ws BOOLEAN NOT NULL,
    -- Production venues must have a private WebSocket (SPEC Venue Policy).
    venue_policy VARCHAR(16) NOT NULL CHECK (venue_policy IN ('production', 'shadow_only')),
    orders_per_second INT NOT NULL CHECK (orders_per_second > 0),
    requests_per_minute INT NOT NULL CHECK (requests_per_minute > 0),
    supported_tif TEXT[] NOT NULL,
    CHECK (venue_policy = 'shadow_only' OR has_private_ws)
);

CREATE TABLE IF NOT EXISTS venue_symbols (
    venue VARCHAR(20) NOT NULL REFERENCES venues(venue),
    venue_symbol VARCHAR(20) NOT NULL,
    canonical_symbol VARCHAR(20) NOT NULL REFERENCES symbols(canonical_symbol),
    active BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (venue, venue_symbol)
);

CREATE TABLE IF NOT EXISTS venue_symbol_specs (
    venue VARCHAR(20) NOT NULL,
    venue_symbol VARCHAR(20) NOT NULL,
    min_tick NUMERIC NOT NULL CHECK (min_tick > 0),
    min_lot NUMERIC NOT NULL CHECK (min_lot > 0),
    lot_step NUMERIC NOT NULL CHECK (lot_step > 0),
    max_order_size NUMERIC NOT NULL CHECK (max_order_size > 0),
    price_precision INT NOT NULL CHECK (price_precision BETWEEN 0 AND 18),
    qty_precision INT NOT NULL CHECK (qty_precision BETWEEN 0 AND 18),
    price_band_pct NUMERIC NOT NULL CHECK (price_band_pct > 0),
    maker_fee NUMERIC NOT NULL,
    taker_fee NUMERIC NOT NULL,
    supports_ioc BOOLEAN NOT NULL,
    supports_fok BOOLEAN NOT NULL,
    order_types TEXT[] NOT NULL,
    liquidity_tier CHAR(1) NOT NULL CHECK (liquidity_tier IN ('A', 'B', 'C')),
    PRIMARY KEY (venue, venue_symbol),
    FOREIGN KEY (venue, venue_symbol) REFERENCES venue_symbols(venue, venue_symbol) ON DELETE CASCADE
);
