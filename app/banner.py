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
  TV boards             {base}/boards/<site> shows a pairing code; a supervisor enters it
                        at {base}/admin/lokasi/<site>/perangkat (BOARD_PAIRING=off: no code)
  Administration        {base}/admin   (Pengguna: staff accounts)
  API description       {base}/api/v1/openapi.json
""", flush=True)
        return
    pairing = ("" if env["BOARD_PAIRING"].strip().lower() == "off" else
               "   shows a pairing code once per TV: enter it\n"
               "                        as supervisor.tabang on Devices (below), "
               "'Papan terdaftar'")
    print(f"""
Mini MPP Antrian is starting on {base}
  Kiosk (Tabang)        {base}/k/tabang
  Operator console      {base}/loket       login operator.tabang / {env['DEMO_PASSWORD']}
  TV board (Tabang)     {base}/boards/tabang{pairing}
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
