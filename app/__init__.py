"""AutoOffice: an open CRM and order desk for online stores, one PostgreSQL database per store."""
