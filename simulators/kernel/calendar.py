"""Danish business days and bank days for the simulators (the rules live in `contracts.calendar`,
shared with the scenario language, so a scenario and a simulator never disagree on a holiday)."""

from contracts.calendar import (
    add_business_days,
    is_bank_day,
    is_business_day,
    last_bank_day_of_month,
    next_business_day,
)

__all__ = ["add_business_days", "is_bank_day", "is_business_day", "last_bank_day_of_month", "next_business_day"]
