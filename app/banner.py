"""Printed by `make run`: where to point a browser and how to log in."""
from .config import from_environment


def main():
    env = from_environment()
    base = f"http://{env['HOST']}:{env['PORT']}"
    if env["DEMO"].strip().lower() == "off":
        print(f"""
Mini MPP Antrian is starting on {base} (DEMO=off: a real installation, no demo data)
  First admin           flask --app wsgi mpp create-admin USERNAME [--name "Full Name"]
  Staff sign-in         {base}/loket/masuk
  Administration        {base}/admin   (Pengguna: staff accounts)
  API description       {base}/api/v1/openapi.json
""", flush=True)
        return
    print(f"""
Mini MPP Antrian is starting on {base}
  Kiosk (Tabang)        {base}/k/tabang
  Operator console      {base}/loket       login operator.tabang / {env['DEMO_PASSWORD']}
  TV board (Tabang)     {base}/boards/tabang
  Online booking        {base}/booking
  Case tracking         {base}/lacak
  Officer inbox         {base}/pusat/berkas  login officer.disdukcapil / {env['DEMO_PASSWORD']}
  Administration        {base}/admin  login admin or supervisor.tabang
  Devices (Tabang)      {base}/admin/lokasi/tabang/perangkat
  API description       {base}/api/v1/openapi.json
  Demo accounts: admin, operator.<site>, supervisor.<site>, officer.<agency>
  (password: DEMO_PASSWORD, '{env['DEMO_PASSWORD']}' now)
""", flush=True)


if __name__ == "__main__":
    main()
