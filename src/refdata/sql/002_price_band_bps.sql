-- The price band was stored as percent (5 = 5 %) in price_band_pct while the executor and the
-- simulators read it as a fraction: bands 100x too wide. One unit, named in the column: basis points.
ALTER TABLE venue_symbol_specs RENAME COLUMN price_band_pct TO price_band_bps;
UPDATE venue_symbol_specs SET price_band_bps = price_band_bps * 100;
ALTER TABLE venue_symbol_specs ADD CONSTRAINT price_band_bps_range CHECK (price_band_bps <= 10000);
