"""Named areas (wards, community areas, …): reading boundary files and loading them."""
