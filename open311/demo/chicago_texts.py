"""Hand-written parts of the Chicago catalogue: descriptions, notices, groups.

derive.py takes the facts (names, codes, departments, times) from the City's
data in shared/chicago311 and the prose from here. The prose is ours; where a
sentence states a City fact, the comment next to it names the source
("README" is shared/chicago311/README.md).
"""

from __future__ import annotations

from typing import Final

# Types the City renamed: current name → the name older lists use. The short
# code and the 2019-20 mean time are often recorded only under the old name.
FORMER_NAMES: Final[dict[str, str]] = {  # README §2, the renamed types
    "Tree Trim Request (NO LONGER BEING ACCEPTED)": "Tree Trim Request",
    "Sidewalk Café/Outdoor Dining Complaint": "Sidewalk Cafe Complaint",
    "Business Complaints": "Business Complaints / Reopening Issue",
    "Consumer Retail Business Complaint": "Consumer Retail Store Complaint",
    "Public Vehicle/Valet Complaint": "Public Vehicle Complaint",
    "Tree Removal Inspection": "Tree Removal Request",
    "Bungalow/Vintage Home Information Request": ("Bungalow Rehab/Purchase Information Request"),
}

# Departments we infer from a type's name alone, where no source records the
# owner. "No Heat Complaint" is observed, in the FOIA extract's Department column.
AGENCY_FROM_NAME: Final[dict[str, str]] = {
    "Buildings - Boiler Violation": "DOB - Buildings",
    "Buildings - Electrical Violation": "DOB - Buildings",
    "Buildings - Elevator Violation": "DOB - Buildings",
    "City Clerk Feedback Request": "City Clerk's Office",
    "Commercial Fire Safety Inspection Request": "Fire",
    "Finance Parking Code Enforcement Review": "Finance",
}
AGENCY_FROM_FOIA: Final[dict[str, str]] = {"No Heat Complaint": "DOB - Buildings"}

# Portal categories for the types the 2025 portal no longer lists (our choice).
GROUPS_OF_UNLISTED: Final[dict[str, str]] = {
    "311IOC": "General",
    "BBC": "Home and Buildings",
    "CSC": "Transportation and Streets",
    "EAB": "Animals",
    "EAE": "Animals",
    "EAF": "Animals",
    "EAQ": "Animals",
    "PBD": "Transportation and Streets",
    "PBLDR": "Transportation and Streets",
    "SCQ": "Garbage and Recycling",
    "SCSP": "Transportation and Streets",
    "SDO": "Transportation and Streets",
    "SDW": "Transportation and Streets",
    "SEF": "Parks, Trees and Environment",
    "SGQ": "Animals",
    "SIE": "Garbage and Recycling",
    "SWSNOREM": "Transportation and Streets",
    "VBL": "Transportation and Streets",
    "WBJ": "Home and Buildings",
    "WM3": "Home and Buildings",
}

# Names we publish instead of the SR_TYPE string.
SERVICE_NAMES: Final[dict[str, str]] = {
    # The SR_TYPE carries "(NO LONGER BEING ACCEPTED)"; `active = false` says it.
    "SEF": "Tree Trim Request",
}

# type and review, where a service is not plain realtime.
BATCH: Final[frozenset[str]] = frozenset({"SCB", "BBA"})
REVIEWED: Final[frozenset[str]] = frozenset({"BBA"})  # the city accepts each one by hand
# Types the City says it no longer accepts (the SR_TYPE name says so).
INACTIVE: Final[frozenset[str]] = frozenset({"SEF"})

# duplicate_window_days from the City's stated duplicate rules (shared/chicago311
# README §2, "City service statements"): street lights, the same circuit within
# 4 calendar days; alley lights, the same address within 30 calendar days.
DUPLICATE_WINDOWS: Final[dict[str, tuple[float, str]]] = {
    "SFD": (4.0, "the City's street-light rule: same circuit within 4 calendar days (README §2)"),
    "SFA": (30.0, "the City's alley-light rule: same address within 30 calendar days (README §2)"),
}

# service_notice text → its source ("ours" where it states our own policy).
NOTICES: Final[dict[str, tuple[str, str]]] = {
    "311IOC": (
        "Information-only calls are closed as soon as they are logged.",
        "README §1: info calls close instantly",
    ),
    "AVN": (
        "Aircraft noise complaints are logged and closed at once.",
        "README §1: aircraft noise closes instantly",
    ),
    "BBA": (
        "The Department of Buildings reviews each complaint before it is accepted.",
        "ours: this catalogue sets review = true",
    ),
    "WCA": (
        "Water Management engineers typically respond within 1 to 2 business days.",
        "README §2: CHI 311 portal text (2025) for Water Quality Concern",
    ),
    "NAA": (
        "Ask for tools 3 to 4 business days before your clean-up.",
        "README §2: CHI 311 portal text (2025) for Clean and Green",
    ),
    "SEF": (
        "The City no longer accepts tree trim requests.",
        "README §2: SR_TYPE 'Tree Trim Request (NO LONGER BEING ACCEPTED)'",
    ),
}

# Words residents might search for that the name and group do not contain.
EXTRA_KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    "311IOC": ("question", "info"),
    "AVN": ("airplane", "airport", "ohare", "midway"),
    "GRAF": ("tag", "paint", "vandalism"),
    "PHF": ("road", "hole"),
    "SGA": ("rat", "rats", "mice"),
    "SKA": ("car", "tow", "parked"),
    "SFD": ("streetlight", "lamp", "dark"),
    "SFB": ("stoplight", "signal"),
    "SEL": ("branches", "storm"),
    "SEC": ("fallen", "branch", "storm"),
    "SIE": ("bin", "can"),
    "NO_HEAT": ("heating", "furnace", "cold"),
}

# Where a description states a City fact, the source; derive.py writes it as
# a comment above the description.
DESCRIPTION_SOURCES: Final[dict[str, str]] = {
    "311IOC": "the share of all SRs: README §1",
    "NO_HEAT": "the department: samples/no_heat_complaints_2020_foia.csv",
    "GRAF": (
        "the 2024 median of 1.0 day: aggregates/top5_types_yearly_resolution_days_2019-2026.csv"
    ),
    "SKA": (
        "the 7-day notice: 'Place 7 Day Sticker' in legacy/legacy_abandoned-vehicles_sample.csv"
    ),
    "PHF": "the 7 days are a City statement quoted in README §2",
    "SFA": "the duplicate rule is the City's, quoted in README §2",
    "SFD": "the duplicate rule is the City's, quoted in README §2",
    "SEL": (
        "the stacking rule is from the City's Open311 service list, kept in "
        "ChicagoAssistant/chicago-assistant:requests_311/docs/services.json @43a77fed"
    ),
    "SEF": "no longer accepted: the SR_TYPE name, README §2",
}

DESCRIPTIONS: Final[dict[str, str]] = {
    # Animals
    "CIAC": "Report a coyote that approached, followed or threatened people or pets.",
    "EAB": (
        "Report an animal that is a nuisance to neighbors, such as constant barking or"
        " an animal kept in poor conditions."
    ),
    "EAE": (
        "Report a stray dog or cat loose in the neighborhood so Animal Care and "
        "Control can pick it up."
    ),
    "EAF": ("Report a dog or other animal that has attacked or is threatening people or animals."),
    "EAQ": "Report an injured animal on public property that needs help.",
    "EBD": "Ask for an animal caught in a trap to be collected.",
    "PET": (
        "Ask Animal Care and Control to check on a pet that may be left without food, "
        "water or shelter."
    ),
    "SGQ": "Ask for a dead animal to be removed from the street, alley or parkway.",
    # Consumer and Employee Protection
    "BAG": (
        "Report a business that breaks the City's tobacco rules, for example selling "
        "loose cigarettes."
    ),
    "BAM": "Report a shop that sells tobacco or e-cigarettes to people under age.",
    "CAFE": (
        "Report a sidewalk café or outdoor dining area that blocks the sidewalk or "
        "breaks its permit."
    ),
    "CSF": "Report a business that misled or cheated you as a customer.",
    "CST": ("Report a problem with a retail business, such as refused refunds or unclear prices."),
    "DISCRIMINATION_ASSISTANCE": (
        "Ask for help if you were treated unfairly in housing, work or public places "
        "because of who you are."
    ),
    "FPC": "Report a gas pump that charges for more fuel than it delivers.",
    "GAS_STATION_STORAGE_TANK": (
        "Report a concern at a gas station or a fuel storage tank, such as leaks or fuel smells."
    ),
    "INR": "Report a shop scale that weighs goods wrongly.",
    "OCC": ("Report a problem with your cable TV company, such as billing or service faults."),
    "ODM": "Report food or medicine sold past its expiry date.",
    "PSL": "Report an employer that denies the paid sick leave the City requires.",
    "RBL": ("Report a business breaking license rules, for example trading without a license."),
    "WAGE": "Report an employer that pays less than the minimum wage or withholds pay.",
    # Disabilities
    "ACCESSIBLE_HOME_MODIFICATIONS_DISABILITIES": (
        "Ask about help to adapt a home for a person with a disability, such as ramps or grab bars."
    ),
    "BENEFIT_ACCESS_ASSISTANCE_DISABILITIES": (
        "Ask for help applying for benefits available to people with disabilities."
    ),
    "HOUSING_INFORMATION_DISABILITIES": (
        "Ask for information about accessible housing for people with disabilities."
    ),
    "IN_HOME_SERVICES_DISABILITIES": (
        "Ask about services that support people with disabilities in their own home."
    ),
    "TRANSPORTATION_ASSISTANCE_DISABILITIES": (
        "Ask about transport options for people with disabilities."
    ),
    "UTILITY_ENERGY_ASSISTANCE_DISABILITIES": (
        "Ask for help with utility or energy bills for a person with a disability."
    ),
    # Garbage and Recycling
    "NOISE_COMPLAINT_GARBAGE_TRUCK": (
        "Report a private garbage truck collecting at noisy, early or late hours."
    ),
    "SCC": "Report a City garbage collection that was missed on your scheduled day.",
    "SCQ": "Ask for bagged yard waste such as leaves and grass to be picked up.",
    "SCS": "Ask for a wire litter basket to be placed, emptied or repaired.",
    "SCX": "Ask for a building's recycling to be inspected.",
    "SDR": (
        "Report trash, furniture, tires or building debris dumped illegally on public"
        " or vacant land."
    ),
    "SIE": (
        "Ask for a black garbage cart to be repaired or replaced when it is broken, "
        "missing or stolen."
    ),
    "SRRC": "Ask for a blue recycling cart to be delivered, repaired or replaced.",
    "SRRP": "Report a missed blue-cart recycling collection.",
    # General
    "311IOC": (
        "A call to 311 that only asked for information, logged so the City can count "
        "it. About a third of all requests are of this kind."
    ),
    "CITY_CLERK_FEEDBACK": "Send feedback or a question to the City Clerk's Office.",
    # Health
    "AIR_POLLUTION_ODOR_DUST": (
        "Report smoke, strong odours or dust coming from a business or site."
    ),
    "ASBESTOS": "Report asbestos being removed or disturbed unsafely.",
    "CORNVEND": ("Report a pushcart food vendor selling food unsafely or without a license."),
    "HDF": (
        "Ask for a home to be inspected for lead paint hazards, for example where a child lives."
    ),
    "HFB": ("Report a food safety problem at a restaurant, such as pests or unsafe food handling."),
    "HFF": "Report smokeless tobacco being used at a sports venue where it is banned.",
    "MOSQUITO_SPRAYING_INQUIRIES": (
        "Ask about mosquito spraying in your area, formerly handled as West Nile Virus inquiries."
    ),
    "PETCO": ("Report petroleum coke or other bulk material dust blowing from a storage site."),
    "SCB": (
        "Report breaches of the sanitation code, such as overflowing dumpsters or "
        "garbage left in an alley or yard."
    ),
    "SGA": (
        "Report rats or signs of rats so that Streets and Sanitation can inspect the "
        "area and bait burrows."
    ),
    "TANNING_BODY_ART": (
        "Report unsafe or unlicensed practice at a tanning salon, tattoo or piercing shop."
    ),
    "WCA": ("Report a concern about the quality of your tap water, such as color, taste or smell."),
    "WCA2": "Ask for a free kit to test your home's drinking water for lead.",
    "WCA3": "Ask for a City visit to take a water sample for lead testing.",
    # Home and Buildings
    "AAF": ("Report water coming into your basement from the sewer, for example after heavy rain."),
    "BBA": (
        "Report a building that breaks the building code, such as unsafe stairs, broken"
        " windows or missing smoke detectors. Each complaint is reviewed before it is "
        "accepted."
    ),
    "BBC": (
        "Report plumbing in a building that breaks the code, for example unlicensed "
        "work or leaking drains."
    ),
    "BBD": "Report building or demolition work done without a permit.",
    "BBK": ("Report a vacant or abandoned building that is open, unsafe or not maintained."),
    "BPI": "Ask for a porch to be inspected when it looks unsafe.",
    "BUILDINGS_BOILER_VIOLATION": ("Report an unsafe or uninspected boiler in a building."),
    "BUILDINGS_ELECTRICAL_VIOLATION": (
        "Report unsafe electrical wiring or equipment in a building."
    ),
    "BUILDINGS_ELEVATOR_VIOLATION": (
        "Report an elevator or escalator that is unsafe or out of service."
    ),
    "BUNGALOW": (
        "Ask for information about programs for owners and buyers of Chicago "
        "bungalows and vintage homes."
    ),
    "CONSTRUCTION_DEMOLITION": (
        "Report dust, debris or unsafe conditions from construction or demolition."
    ),
    "LANDLORD_TENANT_INFO": (
        "Ask for information on the rights and duties of landlords and tenants."
    ),
    "NO_HEAT": (
        "Report a rental building where the heat is off or too low. The Department of "
        "Buildings handles these complaints."
    ),
    "RFC": "Report a problem as a renter in a building under foreclosure.",
    "SHVR": (
        "Report a problem with a shared housing unit or vacation rental, such as noise "
        "or too many guests."
    ),
    "WBK": "Report low water pressure at your home.",
    "WM3": ("Ask Water Management to check for a water leak, for example a leaking service pipe."),
    # Parks, Trees and Environment
    "NAA": (
        "Borrow tools and supplies for a neighborhood clean-up through the Clean and Green program."
    ),
    "SCP": "Ask for overgrown weeds to be cut on a vacant lot or public land.",
    "SCT": "Ask for a vacant lot to be cleaned of trash and debris.",
    "SEC": (
        "Report a fallen tree or a large broken branch that blocks a street or endangers people."
    ),
    "SED": "Ask for a new tree to be planted on the parkway in front of your home.",
    "SEE": ("Ask for a parkway tree that may be dead or dangerous to be inspected for removal."),
    "SEF": (
        "Ask for a parkway tree to be trimmed. The City no longer accepts this type; "
        "older requests keep it."
    ),
    "SEL": (
        "Ask for branches and storm debris to be picked up. Stack them neatly in the "
        "alley or on the parkway."
    ),
    # Public Safety
    "AVN": (
        "Record a complaint about aircraft noise near O'Hare or Midway. Each complaint "
        "is logged and closed at once."
    ),
    "COMMERCIAL_FIRE_SAFETY_INSPECTION": (
        "Ask the Fire Department to inspect a commercial building for fire safety."
    ),
    "EQUIPMENT_NOISE": (
        "Report loud noise from machinery or equipment, such as generators or air conditioners."
    ),
    "GRAF": (
        "Ask for graffiti to be removed from a building, garage, fence or street "
        "furniture. Crews usually remove it within a day or two."
    ),
    "NOSOLCPP": "Report a solicitor who ignores a posted no-solicitation sign.",
    "SKA": (
        "Report a vehicle that seems abandoned on a public street. Streets and "
        "Sanitation checks it and may place a 7-day notice on it before towing."
    ),
    "WBT": "Report a fire hydrant that is open and running.",
    # Seniors
    "SENIOR_INFORMATION_ASSISTANCE": (
        "Ask for information about services and help for older residents."
    ),
    "SENIOR_RELATED_LITERATURE": (
        "Ask for printed information about services for seniors to be sent to you."
    ),
    "SENIOR_WELL_BEING_CHECK": (
        "Ask for someone to check on an older resident you are worried about."
    ),
    # Transportation and Streets
    "AAD": "Report a hole or sinking ground that may be caused by a broken sewer.",
    "AAE": ("Report water running or pooling on the street, for example from a broken main."),
    "AAI": ("Ask for the sewer in an alley to be inspected, for example when it is blocked."),
    "ACCESSIBLE_PEDESTRIAN_SIGNAL": (
        "Report an accessible pedestrian signal that does not work, such as a silent push button."
    ),
    "CHECKFOR": (
        "Ask for a street sewer or catch basin to be inspected and cleaned, for example"
        " when water does not drain."
    ),
    "CSC": "Give feedback about a taxi ride, good or bad.",
    "CSP": (
        "Report a problem with a public vehicle or valet service, such as a limousine "
        "or valet parking."
    ),
    "DBPC": "Report a Divvy bike parked where it blocks the sidewalk or street.",
    "E_SCOOTER_PARKING": ("Report an e-scooter parked where it blocks the sidewalk or street."),
    "FINANCE_PARKING_CODE_ENFORCEMENT_REVIEW": (
        "Ask the Department of Finance to review parking enforcement at a location."
    ),
    "NEW_ACCESSIBLE_PEDESTRIAN_SIGNAL": (
        "Ask for an accessible pedestrian signal to be installed at a crossing."
    ),
    "PBD": (
        "Ask for the public way to be inspected, for example damage left after construction work."
    ),
    "PBLDR": "Ask for debris to be cleared from a protected bike lane.",
    "PBS": "Ask for a damaged sidewalk to be inspected for repair.",
    "PCB": "Report a stop sign that is missing, down or damaged.",
    "PCC": "Report a one-way sign that is missing, down or damaged.",
    "PCD": "Report a do-not-enter sign that is missing, down or damaged.",
    "PCE": "Report any other street sign that is missing, down or damaged.",
    "PCL": "Ask for bike parking or report a problem on a bike route.",
    "PHB": "Report a pothole in a paved alley.",
    "PHF": (
        "Report a pothole in a street. The City states that pothole repairs are "
        "generally completed within 7 days of the first report."
    ),
    "QAC": "Report a vehicle parked in Chicago without a valid City vehicle sticker.",
    "SCSP": ("Apply to share the cost of replacing the sidewalk in front of your property."),
    "SDO": "Ask for snow or ice to be cleared from a City street or walkway.",
    "SDP": "Ask for a street to be swept.",
    "SDW": (
        "Report chairs or other objects left in the street to hold a parking space after snow."
    ),
    "SFA": (
        "Report one or more lights out in an alley. Reports for the same address within"
        " 30 days are treated as duplicates."
    ),
    "SFB": "Report a traffic signal that is dark, stuck or flashing.",
    "SFC": "Report lights out under a viaduct.",
    "SFD": (
        "Report a street light that is out or goes on and off. Reports on the same "
        "circuit within 4 days are treated as duplicates."
    ),
    "SFK": "Report a damaged or leaning street light pole.",
    "SFN": "Report a street light that stays on during the day.",
    "SFQ": ("Report a street light pole with a missing access door, which can expose wiring."),
    "SIGN_REPAIR_BASE_BOLT_REMOVAL": (
        "Ask for a leftover sign base or bolts to be removed from the sidewalk."
    ),
    "SWSNOREM": "Report a sidewalk that was not cleared of snow or ice.",
    "TNP": "Report a problem with a ride-hailing trip or driver.",
    "VBL": "Report a vehicle parked in a bike lane.",
    "WBJ": "Report that your home has no water.",
}
