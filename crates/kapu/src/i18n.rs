//! Every text kapu shows or mails, in Hungarian and English, from one
//! catalogue. Each entry must give both languages or the crate does not
//! compile, so a missing translation cannot ship.
//!
//! Labels follow the real Ügyfélkapu pages (see the user guides). `{name}`
//! style placeholders are filled with [`fill`].

use crate::accounts::model::{FullNameError, Language, UsernameError};
use crate::accounts::service::Problem;
use crate::audit::model::AuditEvent;
use crate::mail::EmailAddressError;
use crate::passwords::PasswordRejection;

macro_rules! catalogue {
    ($($key:ident: $hu:expr, $en:expr;)*) => {
        /// The texts of one language.
        #[derive(Debug)]
        pub struct Texts {
            $(pub $key: &'static str,)*
        }
        pub static HU: Texts = Texts { $($key: $hu,)* };
        pub static EN: Texts = Texts { $($key: $en,)* };
    };
}

catalogue! {
    lang_code: "hu", "en";
    site_name: "ÜGYFÉLKAPU", "ÜGYFÉLKAPU";
    site_tagline: "ügyintézés szabadon", "government services, freely";
    skip_link: "Ugrás a tartalomra", "Skip to content";
    language_switch: "Nyelv", "Language";
    switch_to_hu: "Magyar nyelvű oldal", "Hungarian page";
    switch_to_en: "Angol nyelvű oldal", "English page";
    logged_in_as: "BEJELENTKEZVE:", "LOGGED IN:";
    session_expires: "Munkamenet lejár:", "Session expires in:";
    menu_label: "Menü", "Menu";
    menu_logout: "Kijelentkezés az Ügyfélkapuból", "Log out of Ügyfélkapu";
    menu_registration_data: "Regisztrációs adatok", "Registration data";
    menu_change_password: "Jelszóváltoztatás", "Change password";
    menu_plus: "Ügyfélkapu+ igénylése", "Set up Ügyfélkapu+";
    menu_settings: "Beállítások", "Settings";
    menu_activity: "Biztonsági napló", "Security log";
    menu_case_handling: "Ügyintézés", "Case handling";
    menu_storage: "Tárhely", "Document storage";
    menu_delete: "Ügyfélkapu törlése", "Delete Ügyfélkapu account";
    new_window: "(új ablakban nyílik)", "(opens in a new window)";
    required_note: "A *-gal jelölt mezők kitöltése kötelező!", "Fields marked with * are required.";
    required_mark: "kötelező", "required";
    error_summary_title: "Kérjük, javítsa a következő hibákat:", "Please correct the following:";
    dialog_title: "A munkamenet hamarosan lejár", "Your session is about to expire";
    dialog_text: "Ha nem folytatja, biztonsági okból kijelentkeztetjük.", "If you do not continue, you will be logged out for your security.";
    dialog_stay: "Bejelentkezve maradok", "Stay logged in";
    dialog_logout: "Kijelentkezés", "Log out";
    session_expired: "A munkamenete lejárt, kérjük, jelentkezzen be újra.", "Your session has expired. Please log in again.";
    logged_out: "Sikeresen kijelentkezett.", "You have logged out.";
    cancelled: "Az azonosítást megszakította.", "You cancelled the identification.";
    login_required: "Az oldal megtekintéséhez jelentkezzen be.", "Please log in to see that page.";
    portal_title: "Ügyfélkapu", "Ügyfélkapu";
    portal_welcome: "Üdvözöljük, {name}!", "Welcome, {name}!";
    portal_intro: "A menüben kezelheti regisztrációs adatait, jelszavát és beállításait.", "Use the menu to manage your registration data, password and settings.";
    home_state_title: "Fiókja állapota", "Your account";
    home_plus_on: "Az Ügyfélkapu+ kétlépcsős azonosítás be van kapcsolva ({time} óta): bejelentkezéskor a jelszó mellett a telefonján látható kódot is kérjük.", "Ügyfélkapu+ two-step login is on (since {time}): when you log in, we ask for the code on your phone as well as your password.";
    home_plus_off: "Az Ügyfélkapu+ kétlépcsős azonosítás nincs bekapcsolva: fiókját most csak a jelszava védi.", "Ügyfélkapu+ two-step login is off: only your password protects your account now.";
    home_plus_deadline: "{date} után jelszóval egyedül nem lehet bejelentkezni a szolgáltatásokba.", "After {date} you cannot log in to services with a password alone.";
    home_plus_next: "Ügyfélkapu+ igénylése", "Set up Ügyfélkapu+";
    home_done_next: "Tovább az ügyintézéshez", "Go on to case handling";
    home_first_login: "Korábbi bejelentkezése nincs a biztonsági naplóban.", "Your security log holds no earlier login.";
    copy_key: "Kulcs másolása", "Copy the key";
    copy_revocation: "Törlőkód másolása", "Copy the revocation code";
    copied: "Kimásolva a vágólapra.", "Copied to the clipboard.";
    copy_failed: "A másolás nem sikerült: jelölje ki a szöveget, és másolja ki kézzel.", "Copying did not work: select the text and copy it yourself.";
    dialog_time_left: "Hátralévő idő: {time}", "Time left: {time}";
    unit_minute: "perc", "minute";
    unit_minutes: "perc", "minutes";
    unit_second: "másodperc", "second";
    unit_seconds: "másodperc", "seconds";
    footer_nav_label: "Tájékoztatás", "Information";
    footer_help: "Súgó", "Help";
    footer_contact: "Kapcsolat", "Contact";
    footer_privacy: "Adatkezelési tájékoztató", "Privacy notice";
    footer_accessibility: "Akadálymentességi nyilatkozat", "Accessibility statement";
    portal_last_login: "Legutóbbi bejelentkezés: {time}, {address}", "Last login: {time}, from {address}";
    login_title: "Azonosítás", "Identification";
    username: "Felhasználónév", "Username";
    password: "Jelszó", "Password";
    login_button: "Bejelentkezés", "Log in";
    login_cancel: "Azonosítás megszakítása", "Cancel identification";
    login_register: "Még nem regisztrált?", "Not registered yet?";
    login_forgot: "Elfelejtett jelszó", "Forgotten password";
    login_invalid: "Hibás felhasználónév vagy jelszó.", "Wrong username or password.";
    login_blocked: "Túl sok sikertelen próbálkozás. Biztonsági okból {time} előtt nem próbálkozhat újra ezzel a felhasználónévvel vagy erről a címről.", "Too many failed attempts. For your security you cannot try again with this username or from this address before {time}.";
    login_not_confirmed: "A regisztrációt még nem erősítette meg. Nyissa meg az e-mailben kapott linket.", "You have not confirmed your registration yet. Open the link we emailed you.";
    busy: "A szolgáltatás most túlterhelt. Kérjük, próbálja újra néhány másodperc múlva.", "The service is very busy right now. Please try again in a few seconds.";
    unavailable: "A szolgáltatás átmenetileg nem érhető el. Semmi sem veszett el: kérjük, próbálja újra néhány perc múlva.", "The service is briefly unavailable. Nothing was lost: please try again in a few minutes.";
    register_title: "Regisztráció", "Registration";
    full_name: "Teljes név", "Full name";
    email: "E-mail-cím", "Email address";
    password_again: "Jelszó még egyszer", "Password again";
    register_button: "Regisztráció", "Register";
    username_hint: "3–64 karakter: kisbetűk (a–z), számok, pont, aláhúzás, kötőjel.", "3–64 characters: letters a–z, digits, dot, underscore, hyphen.";
    password_hint: "Legalább {min} karakter. Egy hosszú, könnyen megjegyezhető jelmondat a legjobb.", "At least {min} characters. A long passphrase you can remember is best.";
    register_sent_title: "Ellenőrizze a postafiókját", "Check your mailbox";
    register_sent_text: "Elküldtük a megerősítő linket a megadott e-mail-címre. A regisztráció a link megnyitása után lép életbe; a link {hours} óráig érvényes.", "We have emailed you a confirmation link. Your registration takes effect once you open it; the link is valid for {hours} hours.";
    confirm_title: "Regisztráció megerősítése", "Confirm registration";
    confirm_text: "A regisztráció befejezéséhez kattintson az alábbi gombra.", "To finish your registration, press the button below.";
    confirm_button: "Regisztráció megerősítése", "Confirm registration";
    confirmed_text: "A regisztráció megerősítve. Most már bejelentkezhet.", "Your registration is confirmed. You can now log in.";
    link_invalid: "Ez a link már nem érvényes: felhasználták vagy lejárt. Szükség esetén kérjen újat.", "This link is no longer valid: it has been used or it has expired. Ask for a new one if you need to.";
    forgot_title: "Elfelejtett jelszó", "Forgotten password";
    forgot_text: "Adja meg a felhasználónevét. A jelszó megváltoztatásához szükséges linket a regisztrált e-mail-címére küldjük.", "Enter your username. We will email the link for setting a new password to your registered address.";
    forgot_button: "Link küldése", "Send link";
    mail_not_received: "Nem kaptam meg a levelet", "I did not get the email";
    mail_not_received_hint: "Ha néhány percen belül sem érkezik meg (nézze meg a levélszemét mappát is), küldjük újra. Óránként legfeljebb néhány levelet küldünk egy címre.", "If it has not arrived within a few minutes (check your spam folder too), we send it again. We send at most a few emails an hour to one address.";
    mail_sent_again: "Ha a megadott adatokkal megerősítésre váró kérés van, újra elküldtük a levelet. A korábbi link már nem érvényes.", "If a request with these details is waiting to be confirmed, we have sent the email again. The earlier link no longer works.";
    rate_limited: "Túl sok kérés érkezett erről a címről. Kérjük, próbálja újra {time} után.", "Too many requests came from your address. Please try again after {time}.";
    forgot_sent: "Ha ez a felhasználónév létezik, elküldtük a linket a hozzá tartozó e-mail-címre. A link {minutes} percig érvényes.", "If this username exists, we have emailed the link to its address. The link is valid for {minutes} minutes.";
    reset_title: "Új jelszó megadása", "Set a new password";
    new_password: "Új jelszó", "New password";
    new_password_again: "Új jelszó még egyszer", "New password again";
    reset_button: "Jelszó beállítása", "Set password";
    reset_done: "A jelszó megváltozott. Minden munkamenetét lezártuk; jelentkezzen be az új jelszóval.", "Your password has been changed and all your sessions have ended. Log in with the new password.";
    change_password_title: "Jelszóváltoztatás", "Change password";
    current_password: "Jelenlegi jelszó", "Current password";
    change_password_button: "Jelszó módosítása", "Change password";
    password_changed: "A jelszó megváltozott. A többi eszközén kijelentkeztettük.", "Your password has been changed. You have been logged out on your other devices.";
    data_title: "Regisztrációs adatok", "Registration data";
    save: "Mentés", "Save";
    data_saved: "Az adatokat mentettük.", "Your data has been saved.";
    data_email_pending: "Megerősítő linket küldtünk a(z) {email} címre. Az új cím a link megnyitása után lép életbe.", "We have sent a confirmation link to {email}. The new address takes effect once you open it.";
    data_email_note: "Új e-mail-cím megadásakor a címre megerősítő linket küldünk; addig a régi cím marad érvényben.", "If you enter a new email address, we send a confirmation link to it; the old address stays in use until then.";
    email_confirm_title: "E-mail-cím megerősítése", "Confirm email address";
    email_confirm_text: "Az új e-mail-cím életbe léptetéséhez kattintson az alábbi gombra.", "To start using your new email address, press the button below.";
    email_confirm_button: "E-mail-cím megerősítése", "Confirm email address";
    email_confirmed: "Az új e-mail-cím életbe lépett.", "Your new email address is now in use.";
    settings_title: "Beállítások", "Settings";
    language_label: "Nyelv", "Language";
    language_hu: "Magyar", "Magyar (Hungarian)";
    language_en: "English (angol)", "English";
    notifications_legend: "Értesítések", "Notifications";
    notify_logins_label: "E-mailt kérek minden sikeres bejelentkezésről", "Email me about every successful login";
    settings_saved: "A beállításokat mentettük.", "Your settings have been saved.";
    activity_title: "Biztonsági napló", "Security log";
    activity_intro: "A fiókjával kapcsolatos legutóbbi események. Ha olyan bejelentkezést lát, amely nem Öntől származik, azonnal változtassa meg a jelszavát.", "The latest events of your account. If you see a login that was not you, change your password at once.";
    sessions_title: "Aktív munkamenetek", "Active sessions";
    sessions_intro: "Ahol most be van jelentkezve. Ha valamelyik nem Ön, zárja le, és változtassa meg a jelszavát.", "Where you are logged in now. If one of them is not you, end it and change your password.";
    sessions_this_browser: "ez a böngésző", "this browser";
    sessions_end: "Lezárás", "End";
    sessions_end_others: "Az összes többi lezárása", "End all the others";
    sessions_ended: "Lezárt munkamenetek: {count}.", "Sessions ended: {count}.";
    sessions_unknown_browser: "Ismeretlen böngésző", "Unknown browser";
    col_browser: "Böngésző", "Browser";
    col_started: "Kezdete", "Started";
    col_last_used: "Utoljára használva", "Last used";
    activity_empty: "Még nincs esemény.", "No events yet.";
    col_time: "Időpont", "Time";
    col_event: "Esemény", "Event";
    col_address: "Cím", "Address";
    col_outcome: "Eredmény", "Outcome";
    outcome_success: "Sikeres", "Succeeded";
    outcome_failure: "Sikertelen", "Failed";
    time_zone_note: "Az időpontok a(z) {zone} időzóna szerint értendők.", "Times are in the {zone} time zone.";
    delete_title: "Ügyfélkapu törlése", "Delete Ügyfélkapu account";
    delete_warning: "A törlés végleges: a fiókot és minden munkamenetét töröljük, és ezzel a felhasználónévvel többé nem tud bejelentkezni.", "Deletion is permanent: the account and all its sessions are deleted, and you can no longer log in with this username.";
    delete_confirm_label: "Megértettem, hogy az Ügyfélkapu-fiókom véglegesen törlődik", "I understand that my Ügyfélkapu account will be deleted permanently";
    delete_button: "Ügyfélkapu törlése", "Delete Ügyfélkapu account";
    deleted_text: "Az Ügyfélkapu-fiókját töröltük.", "Your Ügyfélkapu account has been deleted.";
    plus_title: "Ügyfélkapu+ igénylése", "Set up Ügyfélkapu+";
    plus_intro: "Az Ügyfélkapu+ kétlépcsős azonosítás: a felhasználónév és a jelszó mellett egy 30 másodpercenként változó, 6 számjegyű kódot is meg kell adni. Mielőtt továbblépne, töltse le az alábbi alkalmazások valamelyikét okoskészülékére:", "Ügyfélkapu+ is two-step login: besides your username and password you enter a 6-digit code that changes every 30 seconds. Before you continue, install one of these apps on your smartphone:";
    plus_store: "A letöltés helye: Google Play vagy App Store. Okostelefon nélkül a kapu böngészős hitelesítője is használható.", "Get it from Google Play or the App Store. Without a smartphone you can use kapu's browser authenticator.";
    plus_unavailable: "A kétlépcsős azonosítás bekapcsolása ezen a szerveren még nem érhető el.", "Turning on two-step login is not available on this server yet.";
    authenticator_link: "Böngészős hitelesítő (okostelefon nélkül)", "Browser authenticator (without a smartphone)";
    plus_continue: "Tovább az Ügyfélkapu+ igényléséhez", "Continue to set up Ügyfélkapu+";
    plus_active: "Az Ügyfélkapu+ kétlépcsős azonosítás be van kapcsolva (bekapcsolva: {time}). Bejelentkezéskor a jelszó után a hitelesítő alkalmazásban látható kódot is meg kell adnia.", "Ügyfélkapu+ two-step login is on (since {time}). When you log in, you enter the code from your authenticator app after your password.";
    menu_plus_device: "Ügyfélkapu+ beállítás másik eszközre", "Set up Ügyfélkapu+ on another device";
    setup_intro: "Az Ügyfélkapu+ beállításához nyissa meg a mobilkészülékére telepített hitelesítő alkalmazást, és kövesse az alábbi lépéseket:", "To set up Ügyfélkapu+, open the authenticator app on your phone and follow the steps below:";
    setup_device_intro: "Az új eszköz beállítása: olvassa be a kódot az új eszközzel. A régi eszköz a befejezésig működik, utána nem.", "Setting up the new device: scan the code with the new device. The old device works until you finish, and not after.";
    setup_step1: "1. QR-kód leolvasása", "1. Scan the QR code";
    setup_qr_alt: "QR-kód a hitelesítő alkalmazás számára", "QR code for the authenticator app";
    setup_cannot_scan: "Nem tudom beolvasni a kódot", "I cannot scan the code";
    setup_new_key: "Új kódot kérek", "Give me a new code";
    setup_manual_hint: "Ha a készüléke nem olvassa be a képet, a mobilalkalmazásban válassza a manuális beállítást, és adja meg az alábbi karaktersort. A fiók nevét a kód beírásánál Ön határozhatja meg (célszerű beszédes elnevezést megadni, például az ügyfélkapus felhasználónevét).", "If your device cannot read the picture, choose manual entry in the app and type the characters below. You choose the account name yourself (something telling, such as your Ügyfélkapu username).";
    setup_key_label: "Kulcs", "Key";
    setup_prefer_qr: "Inkább kérem a QR-kódot", "Show me the QR code instead";
    setup_keep_advice: "Fontos: készítsen képernyőképet a QR-kódról, és mentse el a kulcsot is. Ugyanazzal a kulccsal több eszközön is ugyanazt a kódot kapja, és telefoncserénél is szüksége lehet rá.", "Important: take a screenshot of the QR code and keep a copy of the key. The same key on several devices gives the same codes, and you may need it when you change phones.";
    setup_step2: "2. Ügyfélkapuhoz tartozó jelszó megadása", "2. Enter your Ügyfélkapu password";
    setup_password: "Ügyfélkapus jelszó", "Ügyfélkapu password";
    setup_step3: "3. Mobilalkalmazásban kapott azonosító", "3. The code from the mobile app";
    setup_code: "Azonosító megadása", "Enter the code";
    setup_code_hint: "A hitelesítő alkalmazásban látható 6 jegyű kód (a szóköz és a kötőjel nem számít). Ha 6-7 másodpercnél kevesebb van hátra, várja meg a következőt.", "The 6-digit code shown in the authenticator app (spaces and dashes do not matter). If fewer than 6-7 seconds are left, wait for the next one.";
    setup_continue: "Tovább", "Continue";
    setup_cancel: "Mégsem", "Cancel";
    setup_expired: "A beállítás lejárt vagy nem található. Kérjük, kezdje újra.", "The set-up expired or was not found. Please start again.";
    revocation_title: "Törlőkód", "Revocation code";
    revocation_text: "Az alábbi kód segítségével szüntethető meg az Ügyfélkapu+ szolgáltatás abban az esetben, ha mobilkészülékét elveszíti vagy eltulajdonítják. Amennyiben sem mobilkészüléke, sem a törlőkód nem áll rendelkezésre, az Ügyfélkapu+ megszüntetése csak kormányablakban lehetséges.", "With the code below you can cancel Ügyfélkapu+ if your phone is lost or stolen. If you have neither the phone nor the revocation code, Ügyfélkapu+ can only be cancelled in person at a government office.";
    revocation_once: "A kódot csak most mutatjuk meg, mi csak egy ellenőrzőértékét tároljuk.", "This is the only time we show the code; we keep only a check value of it.";
    revocation_save: "Törlőkód mentése", "Save revocation code";
    revocation_saved_label: "A fenti törlőkód mentéséről gondoskodtam", "I have saved the revocation code above";
    revocation_finish: "Befejezés", "Finish";
    revocation_file_text: "Ügyfélkapu+ törlőkód\n\nFelhasználónév: {username}\nTörlőkód: {code}\n\nEzzel a kóddal szüntethető meg az Ügyfélkapu+, ha a telefonja elveszett. Tartsa biztonságos helyen.\n", "Ügyfélkapu+ revocation code\n\nUsername: {username}\nRevocation code: {code}\n\nWith this code you can cancel Ügyfélkapu+ if your phone is lost. Keep it somewhere safe.\n";
    plus_waiting_title: "Megerősítésre vár", "Waiting for your confirmation";
    plus_waiting_text: "Az egylépcsős bejelentkezés megszűnt, ezért a jelszó egymagában nem elég az Ügyfélkapu+ bekapcsolásához. Megerősítő linket küldtünk a(z) {email} címre: a hitelesítő alkalmazás a link megnyitása után lép életbe. Ha az e-mail-fiókjához sem fér hozzá, egy kormányablakban személyesen is bekapcsolhatják.", "One-step login has ended, so a password alone cannot turn on Ügyfélkapu+. We have emailed a confirmation link to {email}: the authenticator app takes effect once you open it. If you cannot reach that mailbox either, a government office can turn it on for you in person.";
    plus_activate_title: "Ügyfélkapu+ bekapcsolása", "Turn on Ügyfélkapu+";
    plus_activate_text: "A(z) {username} felhasználónevű fiókhoz beállított hitelesítő alkalmazás e megerősítés után lép életbe, és minden munkamenet lezárul: a következő belépéskor már kódot kérünk. Ha nem Ön állította be, válassza a „Nem én voltam” gombot.", "The authenticator app set up for the account {username} takes effect once you confirm, and every session ends: the next login asks for a code. If you did not set it up, choose \"It was not me\".";
    plus_activate_button: "Bekapcsolom", "Turn it on";
    plus_activate_refuse: "Nem én voltam", "It was not me";
    plus_refused_text: "Elutasította a beállítást; az alkalmazás nem lépett életbe. Valaki más ismeri a jelszavát: kérjen most új jelszót.", "You refused the set-up; the app did not take effect. Someone else knows your password: ask for a new one now.";
    plus_done_title: "Sikeres beállítás", "Set up successfully";
    plus_done_text: "Az Ügyfélkapu+ szolgáltatást sikeresen aktiválta. Legközelebbi belépéskor a felhasználónév és a jelszó után a hitelesítő alkalmazásban látható kódot is meg kell adnia.", "Ügyfélkapu+ is now active. Next time you log in, enter the code from your authenticator app after your username and password.";
    plus_device_done_text: "Az új eszköz beállítása kész. A régi eszközön látható kódok többé nem érvényesek, és új törlőkódot kapott.", "The new device is set up. Codes from the old device are no longer accepted, and you have a new revocation code.";
    device_title: "Ügyfélkapu+ beállítás másik eszközre", "Set up Ügyfélkapu+ on another device";
    device_intro: "Az új eszköz beállításához adja meg a jelszavát és a jelenlegi eszközén most látható kódot. Ezután ugyanazokat a lépéseket kell elvégeznie egy új kulccsal.", "To move to a new device, enter your password and the code your current device shows now. Then follow the same steps with a new key.";
    code_title: "Ügyfélkapu+ azonosító", "Ügyfélkapu+ code";
    code_intro: "Adja meg a hitelesítő alkalmazásban látható 6 jegyű kódot. Ha 6-7 másodpercnél kevesebb van hátra, várja meg a következőt.", "Enter the 6-digit code your authenticator app shows. If fewer than 6-7 seconds are left, wait for the next one.";
    code_label: "Azonosító", "Code";
    server_time: "A szerver ideje: {time}. Ha a kódot nem fogadjuk el, ellenőrizze, hogy a telefonja órája pontos-e.", "Server time: {time}. If your code is not accepted, check that your phone's clock is right.";
    code_lost_phone: "Elveszett a telefonom", "I lost my phone";
    code_wrong: "A kód nem megfelelő. Minden kód csak egyszer használható: ha az imént használta, várja meg a következőt.", "The code is not correct. Each code can be used only once: if you just used this one, wait for the next.";
    code_blocked: "Túl sok hibás kód. Biztonsági okból új kódot csak {time} után adhat meg.", "Too many wrong codes. For your security you can enter a new code only after {time}.";
    code_locked: "Túl sok hibás kód miatt a kódos azonosítást zároltuk. E-mailben küldtünk egy linket: azon egy érvényes kód megadásával oldhatja fel.", "After too many wrong codes the code step is locked. We have emailed you a link: open it and enter a valid code to unlock.";
    pending_expired: "A bejelentkezés félbemaradt, és biztonsági okból lejárt. Kérjük, kezdje újra.", "The login was left half way and has expired for your security. Please start again.";
    lost_title: "Elveszett a telefonom", "I lost my phone";
    lost_intro: "Ha a telefonja elveszett vagy ellopták, a beállításkor kapott törlőkóddal megszüntetheti az Ügyfélkapu+ szolgáltatást: az elveszett eszköz kódjai azonnal érvénytelenné válnak. Ha a törlőkód sincs meg, keressen fel egy kormányablakot.", "If your phone is lost or stolen, cancel Ügyfélkapu+ with the revocation code you got at set-up: codes from the lost device stop working at once. If you do not have the revocation code either, visit a government office.";
    lost_code_label: "Törlőkód", "Revocation code";
    lost_button: "Ügyfélkapu+ megszüntetése", "Cancel Ügyfélkapu+";
    lost_blocked: "Túl sok sikertelen próbálkozás. {time} után próbálkozhat újra.", "Too many failed attempts. You can try again after {time}.";
    lost_done: "Az Ügyfélkapu+ szolgáltatást megszüntettük: az elveszett eszköz kódjai nem érvényesek, és minden munkamenetét lezártuk. Jelentkezzen be, és állítsa be újra egy új eszközön.", "Ügyfélkapu+ has been cancelled: codes from the lost device are no longer valid and all your sessions have ended. Log in and set it up again on a new device.";
    unlock_title: "Kódos azonosítás feloldása", "Unlock the code step";
    unlock_intro: "Adja meg a hitelesítő alkalmazásban most látható kódot.", "Enter the code your authenticator app shows now.";
    unlock_button: "Feloldás", "Unlock";
    unlock_done: "A zárolást feloldottuk. Most már bejelentkezhet.", "The lock has been lifted. You can log in now.";
    restricted: "Az egylépcsős (csak jelszavas) azonosítás {date} napon megszűnt. Jelszóval csak az Ügyfélkapu+ beállításához, jelszóváltoztatáshoz vagy kijelentkezéshez léphet be; a szolgáltatásokhoz kétlépcsős azonosítás kell.", "One-step (password only) login ended on {date}. With a password alone you can only set up Ügyfélkapu+, change your password or log out; services need two-step login.";
    service_asks: "A(z) „{service}” szolgáltatás azonosítást kér.", "The service “{service}” asks you to identify yourself.";
    service_methods: "Választható azonosítási mód: {methods}.", "Methods you can use: {methods}.";
    method_plus: "Ügyfélkapu+ (felhasználónév, jelszó és a hitelesítő alkalmazás kódja)", "Ügyfélkapu+ (username, password and the code from your authenticator app)";
    method_plain: "Ügyfélkapu (felhasználónév és jelszó)", "Ügyfélkapu (username and password)";
    level_too_low_title: "Ügyfélkapu+ szükséges", "Ügyfélkapu+ required";
    level_too_low: "A(z) „{service}” szolgáltatás kétlépcsős (Ügyfélkapu+) azonosítást kér, Önnél azonban még nincs bekapcsolva. Állítsa be, majd jelentkezzen be újra a szolgáltatásnál.", "The service “{service}” requires two-step login (Ügyfélkapu+), which you have not set up yet. Set it up, then log in at the service again.";
    back_to_service: "Vissza a szolgáltatáshoz (azonosítás megszakítása)", "Back to the service (cancel identification)";
    oidc_error_title: "Hibás azonosítási kérés", "Invalid identification request";
    oidc_error_client: "A kérést küldő szolgáltatás nincs regisztrálva. Kérjük, térjen vissza a szolgáltatás oldalára.", "The service that sent this request is not registered. Please go back to the service's site.";
    oidc_error_redirect: "A kérés visszatérési címe nem egyezik a szolgáltatás regisztrált címével, ezért biztonsági okból nem irányítjuk vissza.", "The request's return address does not match the service's registered address, so for your safety you are not sent back.";
    oidc_request_expired: "A szolgáltatás azonosítási kérése lejárt. Kérjük, kezdje újra a szolgáltatás oldalán.", "The service's identification request has expired. Please start again on the service's site.";
    oidc_logout_title: "Kijelentkezés", "Logout";
    oidc_logout_confirm: "Kijelentkezik az Ügyfélkapuból?", "Log out of Ügyfélkapu?";
    oidc_logout_confirm_service: "Kijelentkezik a(z) „{service}” szolgáltatásból és az Ügyfélkapuból?", "Log out of “{service}” and of Ügyfélkapu?";
    oidc_logout_why: "A kérés nem igazolja, hogy erről a bejelentkezésről van szó, ezért megkérdezzük.", "The request does not prove it is about this login, so we ask you first.";
    oidc_logout_not_logged_in: "Ön nincs bejelentkezve az Ügyfélkapuba.", "You are not logged in to Ügyfélkapu.";
    oidc_logout_cancel: "Mégsem, bejelentkezve maradok", "Cancel, stay logged in";
    oidc_error_request_uri: "A szolgáltatás előre beküldött azonosítási kérése lejárt vagy már felhasználták. Kérjük, kezdje újra a szolgáltatás oldalán.", "The service's pushed identification request has expired or was used already. Please start again on the service's site.";
    oidc_error_params: "Az azonosítási kérés hibás: {problem}. Kérjük, kezdje újra a szolgáltatás oldalán.", "The identification request is malformed: {problem}. Please start again on the service's site.";
    form_post_title: "Visszatérés a szolgáltatáshoz", "Back to the service";
    form_post_text: "Ha a böngésző nem lép tovább magától, kattintson a gombra.", "If your browser does not go on by itself, press the button.";
    form_post_button: "Tovább a szolgáltatáshoz", "Continue to the service";
    problem_username_empty: "Adja meg a felhasználónevet.", "Enter a username.";
    problem_password_empty: "Adja meg a jelszavát.", "Enter your password.";
    problem_username_short: "A felhasználónév legalább 3 karakter legyen.", "The username must be at least 3 characters.";
    problem_username_long: "A felhasználónév legfeljebb 64 karakter lehet.", "The username can be at most 64 characters.";
    problem_username_chars: "A felhasználónév csak kisbetűket (a–z), számokat, pontot, aláhúzást és kötőjelet tartalmazhat, és betűvel vagy számmal kezdődik.", "The username can only contain letters a–z, digits, dot, underscore and hyphen, and starts with a letter or digit.";
    problem_username_taken: "Ez a felhasználónév már foglalt. Válasszon másikat.", "This username is taken. Please choose another.";
    problem_name_empty: "Adja meg a teljes nevét.", "Enter your full name.";
    problem_name_long: "A név legfeljebb 200 karakter lehet.", "The name can be at most 200 characters.";
    problem_name_control: "A név nem tartalmazhat vezérlőkaraktert.", "The name cannot contain control characters.";
    problem_email_empty: "Adja meg az e-mail-címét.", "Enter your email address.";
    problem_email_long: "Az e-mail-cím túl hosszú.", "The email address is too long.";
    problem_email_invalid: "Adjon meg érvényes e-mail-címet, például nev@example.hu.", "Enter a valid email address, such as name@example.com.";
    problem_password_short: "A jelszó legalább {min} karakter legyen.", "The password must be at least {min} characters.";
    problem_password_long: "A jelszó legfeljebb {max} karakter lehet.", "The password can be at most {max} characters.";
    problem_password_common: "Ez a jelszó túl gyakori, könnyen kitalálható. Válasszon másikat.", "This password is too common and easy to guess. Please choose another.";
    problem_password_context: "A jelszó nem tartalmazhatja a felhasználónevét, a nevét vagy az e-mail-címét.", "The password cannot contain your username, name or email address.";
    problem_password_control: "A jelszó nem tartalmazhat vezérlőkaraktert.", "The password cannot contain control characters.";
    problem_password_mismatch: "A két jelszó nem egyezik.", "The two passwords do not match.";
    problem_wrong_password: "A megadott jelszó nem megfelelő.", "The password is not correct.";
    problem_must_confirm: "A törléshez jelölje be a megerősítést.", "Tick the confirmation to delete the account.";
    problem_code_format: "Az azonosító 6 számjegyből áll.", "The code is 6 digits.";
    problem_wrong_code: "A kód nem megfelelő. Ellenőrizze, hogy az Ügyfélkapu+ fiókhoz tartozó kódot írta-e be.", "The code is not correct. Check that you entered the code of your Ügyfélkapu+ account.";
    problem_too_many_attempts: "Túl sok sikertelen próbálkozás történt. Kérjük, várjon néhány percet, majd próbálja újra.", "There have been too many failed attempts. Please wait a few minutes, then try again.";
    problem_code_already_used: "Ezt a kódot már felhasználta. Minden kód csak egyszer használható: várja meg, amíg az alkalmazás új kódot mutat, és azt adja meg. (Ez a próbálkozás nem számít hibásnak.)", "This code has already been used. Each code works only once: wait until the app shows a new code and enter that one. (This try does not count as a wrong code.)";
    problem_must_confirm_saved: "A befejezéshez jelölje be, hogy a törlőkódot elmentette.", "Tick that you have saved the revocation code to finish.";
    problem_revocation_data_wrong: "A felhasználónév, a jelszó vagy a törlőkód nem megfelelő.", "The username, password or revocation code is not correct.";
    problem_revocation_code_format: "A törlőkód 16 számjegyből áll, például 1234 5678 9012 3456. Ez a próbálkozás nem számít hibásnak.", "The revocation code is 16 digits, for example 1234 5678 9012 3456. This try does not count as a wrong one.";
    problem_binding_code_empty: "Adja meg az aktiváló kódot.", "Enter the activation code.";
    problem_binding_code_format: "Az aktiváló kód 16 betűből és számjegyből áll, például ABCD-EFGH-JKMN-PQRS. Ez a próbálkozás nem számít hibásnak.", "The activation code is 16 letters and digits, for example ABCD-EFGH-JKMN-PQRS. This try does not count as a wrong one.";
    problem_binding_code_wrong: "Az aktiváló kód nem érvényes: hibás, lejárt vagy már felhasználták. Ellenőrizze, és írja be újra.", "The activation code is not valid: it is wrong, has expired or was already used. Check it and type it again.";
    identity_title: "Személyazonosság igazolása", "Verified identity";
    identity_verified_heading: "Kormányablakban igazolt adatok", "Data verified at a government office";
    identity_verified_note: "Ezeket az adatokat {office} igazolta ({date}). Csak kormányablakban változtathatók.", "These data were verified by {office} ({date}). Only a government office can change them.";
    identity_not_verified: "Személyazonosságát még nem igazolták. Kormányablakban igazolhatja; az ott (vagy levélben) kapott aktiváló kóddal kapcsolhatja az igazolt adatokat a fiókjához.", "Your identity has not been verified yet. A government office can verify it; with the activation code you get there (or by post) you link the verified data to your account.";
    identity_bind_link: "Aktiváló kód megadása", "Enter an activation code";
    identity_bind_intro: "Írja be a kormányablakban vagy levélben kapott aktiváló kódot. A kód egyszer használható.", "Type the activation code you got at the government office or by post. The code works once.";
    identity_code_label: "Aktiváló kód", "Activation code";
    identity_code_hint: "16 betű és számjegy, például ABCD-EFGH-JKMN-PQRS", "16 letters and digits, for example ABCD-EFGH-JKMN-PQRS";
    identity_bind_button: "Összekapcsolás", "Link to my account";
    identity_bound: "Az igazolt személyazonosságot összekapcsoltuk a fiókjával.", "Your verified identity is now linked to your account.";
    identity_already: "Fiókjához már tartozik igazolt személyazonosság.", "Your account already has a verified identity.";
    identity_elsewhere: "Ez a személyazonosság már egy másik Ügyfélkapu-fiókhoz tartozik. Kérjük, forduljon kormányablakhoz.", "This identity already belongs to another Ügyfélkapu account. Please go to a government office.";
    identity_blocked: "Túl sok hibás aktiváló kód. Próbálja újra ekkor: {time}.", "Too many wrong activation codes. Try again at {time}.";
    consent_title: "Adatok átadása a szolgáltatásnak", "Sharing your data with a service";
    consent_text: "A(z) {service} szolgáltatás a következő adatait kapja meg:", "{service} will receive the following data about you:";
    consent_note: "Hozzájárulását bármikor visszavonhatja a Szolgáltatások oldalon. Ha nem engedélyezi, a bejelentkezés megszakad, és visszairányítjuk a szolgáltatáshoz.", "You can withdraw your consent at any time on the Services page. If you do not allow it, the login stops and you go back to the service.";
    consent_allow: "Engedélyezem", "Allow";
    consent_deny: "Nem engedélyezem", "Do not allow";
    menu_services: "Szolgáltatások", "Services";
    services_intro: "Ezek a szolgáltatások kapják meg igazolt adatait az Ön hozzájárulásával. Ha visszavonja, a szolgáltatás a következő bejelentkezéskor újra megkérdezi.", "These services receive your verified data with your consent. If you withdraw it, the service asks again at your next login.";
    services_none: "Egyetlen szolgáltatásnak sem járult hozzá adatai átadásához.", "You have not agreed to share your data with any service.";
    services_col_service: "Szolgáltatás", "Service";
    services_col_data: "Átadott adatok", "Data shared";
    services_col_granted: "Hozzájárulás ideje", "Consent given";
    services_col_used: "Utoljára átadva", "Last shared";
    services_withdraw: "Hozzájárulás visszavonása", "Withdraw consent";
    services_withdrawn: "Hozzájárulását visszavontuk: a szolgáltatás nem kapja meg többé az adatait, amíg újra hozzá nem járul.", "Your consent was withdrawn: the service no longer receives your data unless you agree again.";
    identity_family_name: "Családi név", "Family name";
    identity_given_name: "Utónév", "Given name";
    identity_birth_family_name: "Születési családi név", "Family name at birth";
    identity_birth_given_name: "Születési utónév", "Given name at birth";
    identity_mother_birth_name: "Anyja születési neve", "Mother's name at birth";
    identity_place_of_birth: "Születési hely", "Place of birth";
    identity_birth_date: "Születési idő", "Date of birth";
    menu_delegations: "Meghatalmazások", "Delegations";
    office_title: "Ügyintézői felület", "Office console";
    office_staff_line: "{name}, {role}, {office}", "{name}, {role}, {office}";
    office_role_clerk: "ügyintéző", "clerk";
    office_role_supervisor: "felügyelő", "supervisor";
    office_not_staff: "Az ügyintézői felületet csak kormányablaki ügyintézők használhatják.", "Only government office staff can use the office console.";
    office_needs_two_step: "Az ügyintézői felülethez kétlépcsős azonosítással (Ügyfélkapu+) kell bejelentkeznie. Jelentkezzen ki, majd be a kóddal együtt.", "The office console needs a two-step login (Ügyfélkapu+). Log out, then log in with your code.";
    home_link: "Vissza a kezdőlapra", "Back to the home page";
    office_search: "Ügyfél keresése", "Find a citizen";
    office_search_or: "vagy igazolt adatok alapján:", "or by verified data:";
    office_search_button: "Keresés", "Search";
    office_results: "Találatok", "Results";
    office_no_results: "Nincs ilyen ügyfél.", "No such citizen.";
    office_citizen_title: "Ügyfél adatai", "Citizen";
    office_account: "Fiók", "Account";
    office_status: "Állapot", "Status";
    office_two_step: "Ügyfélkapu+ bekapcsolva", "Ügyfélkapu+ on";
    office_yes: "igen", "yes";
    office_no: "nem", "no";
    office_not_verified: "A személyazonosság nincs igazolva.", "The identity is not verified.";
    office_actions: "Ügyintézés", "Actions";
    office_reason: "Indoklás", "Reason";
    office_reason_hint: "Például: személyesen, személyi igazolvánnyal. A naplóba kerül az Ön nevével.", "For example: in person, with an identity card. It goes into the log with your name.";
    office_reason_missing: "Adja meg az indoklást.", "Enter the reason.";
    office_reset_title: "Kétlépcsős azonosítás visszaállítása", "Reset two-step login";
    office_reset_text: "Az ügyfél elvesztette telefonját és törlőkódját: az Ügyfélkapu+ kikapcsol, minden munkamenete véget ér, e-mailt kap.", "The citizen lost both the phone and the revocation code: Ügyfélkapu+ is turned off, every session ends, they are emailed.";
    office_reset_button: "Visszaállítás", "Reset";
    office_reset_done: "A kétlépcsős azonosítást visszaállítottuk.", "Two-step login was reset.";
    office_unlock_title: "Zárolások feloldása", "Lift locks";
    office_unlock_text: "A jelszó- és kódpróbálkozások zárolását és várakozását oldja fel.", "Lifts the locks and waits of password and code tries.";
    office_unlock_button: "Feloldás", "Lift";
    office_unlock_done: "A zárolásokat feloldottuk.", "The locks were lifted.";
    office_verify_title: "Személyazonosság igazolása", "Verify identity";
    office_verify_intro: "Az okmányról olvassa le az adatokat. Az okmány száma titkosítva tárolódik, és többé nem jelenik meg.", "Read the data from the document. The document number is stored encrypted and never shown again.";
    office_verify_button: "Igazolás rögzítése", "Record the verification";
    office_verify_done: "A személyazonosságot igazoltuk; az ügyfél e-mailt kapott.", "The identity was verified; the citizen was emailed.";
    office_document_number: "Okmány száma", "Document number";
    office_already_verified: "Ennek az ügyfélnek már van igazolt személyazonossága.", "This citizen already has a verified identity.";
    office_bound_elsewhere: "Ez a személy már egy másik fiókhoz tartozik.", "This person already belongs to another account.";
    office_problem_empty: "Töltse ki ezt a mezőt.", "Fill in this field.";
    office_problem_name_long: "Legfeljebb 100 karakter lehet.", "At most 100 characters.";
    office_problem_name_chars: "Csak betűk, szóköz, kötőjel, aposztróf és pont lehet, ahogy az okmányon áll.", "Only letters, spaces, hyphens, apostrophes and dots, as on the document.";
    office_problem_birth_range: "A születési idő 1900-01-01 és a mai nap közé essen.", "The date of birth must be between 1900-01-01 and today.";
    office_problem_document_kind: "Válasszon okmánytípust.", "Choose a document type.";
    office_problem_document_number: "Az okmány száma 5–20 betű és számjegy.", "The document number is 5 to 20 letters and digits.";
    office_problem_reason: "Adja meg az indoklást (legfeljebb 200 karakter).", "Enter the reason (at most 200 characters).";
    office_log_title: "Ügyintézői napló", "Office log";
    office_log_intro: "Minden ügyintézői művelet, a legújabb elöl: ki, kinek, mit, miért.", "Every office action, newest first: who, for whom, what, why.";
    office_not_own: "Saját fiókjában nem intézkedhet: ezt egy másik ügyintéző teheti meg.", "You cannot act on your own account: another clerk can.";
    office_record_title: "Meghatalmazás rögzítése", "Record a delegation";
    office_record_intro: "A meghatalmazó ({principal}) személyesen adja a meghatalmazást; a meghatalmazott a portálon fogadja el.", "The principal ({principal}) gives the delegation in person; the agent accepts it in the portal.";
    office_record_done: "A meghatalmazást rögzítettük; a meghatalmazott e-mailt kapott, és a portálon fogadhatja el.", "The delegation was recorded; the agent was emailed and can accept it in the portal.";
    office_principal_not_verified: "A meghatalmazónak nincs igazolt személyazonossága: előbb igazolja.", "The principal has no verified identity: verify it first.";
    office_supervisors_only: "Az ügyintézői naplót csak felügyelők láthatják.", "Only supervisors can see the office log.";
    represent_title: "Kinek a nevében jár el?", "On whose behalf are you acting?";
    represent_text: "Meghatalmazás alapján mások nevében is eljárhat a(z) {service} szolgáltatásnál. Válassza ki, kinek a nevében lép be most.", "With a delegation you can also act for others at {service}. Choose on whose behalf you log in now.";
    represent_myself: "Saját nevemben", "For myself";
    represent_for: "{name} nevében ({matters})", "For {name} ({matters})";
    represent_note: "A szolgáltatás megkapja a meghatalmazó nevét, és azt, hogy Ön jár el helyette; az Ön e-mail-címét és igazolt adatait nem.", "The service receives the principal's name and that you act for them; not your email address or your verified data.";
    represent_gone: "Ez a meghatalmazás időközben megszűnt vagy lejárt. Válasszon újra.", "This delegation has ended or expired meanwhile. Choose again.";
    represent_again: "Vissza a választáshoz", "Back to the choice";
    delegations_intro: "Meghatalmazással egy másik, kormányablakban igazolt ügyfél eljárhat az Ön nevében egy ügytípusban (például adóbevallás), egy vagy bármely szolgáltatásnál, a megadott ideig. A meghatalmazott elfogadja; bármelyikük bármikor visszavonhatja. Az Ügyfélkapu+ bekapcsolása, áthelyezése vagy visszavonása nem érinti a meghatalmazásokat.", "With a delegation another citizen verified at a government office can act for you in one kind of matter (a tax return, for example), at one service or any, for the period you set. The agent accepts it; either of you can end it at any time. Turning Ügyfélkapu+ on, moving it or revoking it does not affect delegations.";
    delegations_not_verified: "Meghatalmazást csak igazolt személyazonosságú ügyfél adhat és kaphat.", "Only citizens with a verified identity can give and receive delegations.";
    delegations_waiting: "Elfogadásra vár", "Waiting for your answer";
    delegations_given: "Adott meghatalmazások", "Delegations you gave";
    delegations_received: "Kapott meghatalmazások", "Delegations you received";
    delegations_none: "Nincs ilyen meghatalmazás.", "None.";
    delegations_col_principal: "Meghatalmazó", "Principal";
    delegations_col_agent: "Meghatalmazott", "Agent";
    delegations_col_period: "Időszak", "Period";
    delegations_col_state: "Állapot", "State";
    delegations_col_actions: "Műveletek", "Actions";
    delegation_matter: "Ügytípus", "Matter";
    delegation_service: "Szolgáltatás", "Service";
    delegation_any_service: "Bármely szolgáltatás", "Any service";
    delegation_state_pending: "Elfogadásra vár", "Waiting for the agent";
    delegation_state_scheduled: "Elfogadva, később kezdődik", "Accepted, starts later";
    delegation_state_active: "Érvényes", "Valid";
    delegation_state_expired: "Lejárt", "Expired";
    delegation_state_revoked: "Visszavonva", "Revoked";
    delegation_state_refused: "Elutasítva", "Refused";
    delegation_state_renounced: "A meghatalmazott lemondott róla", "Renounced by the agent";
    delegation_accept: "Elfogadom", "Accept";
    delegation_refuse: "Elutasítom", "Refuse";
    delegation_revoke: "Visszavonás", "Revoke";
    delegation_renounce: "Lemondás", "Renounce";
    delegation_granted: "A meghatalmazást rögzítettük. A meghatalmazott e-mailt kapott; elfogadása után érvényes.", "The delegation was recorded. The agent was emailed; it is valid once they accept it.";
    delegation_accepted: "Elfogadta a meghatalmazást.", "You accepted the delegation.";
    delegation_ended: "A meghatalmazás megszűnt. A másik felet e-mailben értesítettük.", "The delegation has ended. The other party was emailed.";
    delegation_blocked: "Túl sok meghatalmazott nem volt megtalálható. Próbálja újra ekkor: {time}.", "Too many agents could not be found. Try again at {time}.";
    delegation_new_title: "Új meghatalmazás", "New delegation";
    delegation_new_intro: "Adja meg, ki járhat el az Ön nevében: a meghatalmazott felhasználónevét és születési dátumát (csak igazolt személyazonosságú ügyfél lehet).", "Say who may act for you: the agent's username and date of birth (they must have a verified identity).";
    delegation_new_button: "Meghatalmazás rögzítése", "Record the delegation";
    delegation_agent_username: "A meghatalmazott felhasználóneve", "The agent's username";
    delegation_agent_birth_date: "A meghatalmazott születési dátuma", "The agent's date of birth";
    delegation_from: "Érvényesség kezdete", "Valid from";
    delegation_until: "Érvényesség vége", "Valid until";
    delegation_until_hint: "Ezt a napot is beleértve.", "This day included.";
    date_hint: "Például 1980-05-17 (év-hónap-nap).", "For example 1980-05-17 (year-month-day).";
    problem_date_format: "A dátumot év-hónap-nap alakban adja meg, például 2026-12-31.", "Enter the date as year-month-day, for example 2026-12-31.";
    problem_delegation_agent_unknown: "Nincs igazolt személyazonosságú ügyfél ezzel a felhasználónévvel és születési dátummal. Ellenőrizze mindkettőt.", "There is no citizen with a verified identity with this username and date of birth. Check both.";
    problem_delegation_agent_self: "Saját magát nem hatalmazhatja meg.", "You cannot delegate to yourself.";
    problem_delegation_matter: "Válasszon ügytípust a listából.", "Choose a matter from the list.";
    problem_delegation_service: "Válasszon szolgáltatást a listából.", "Choose a service from the list.";
    problem_delegation_start_past: "A kezdőnap nem lehet korábbi a mai napnál.", "The first day cannot be before today.";
    problem_delegation_end_before_start: "Az utolsó nap nem lehet korábbi a kezdőnapnál.", "The last day cannot be before the first.";
    problem_delegation_too_long: "Egy meghatalmazás legfeljebb {days} napig tarthat.", "A delegation can last at most {days} days.";
    event_delegation_granted: "Meghatalmazás adása", "Delegation given";
    event_delegation_accepted: "Meghatalmazás elfogadása", "Delegation accepted";
    event_delegation_ended: "Meghatalmazás megszűnése", "Delegation ended";
    mail_delegation_offered_subject: "Meghatalmazást kapott", "You received a delegation";
    mail_delegation_offered_body: "Kedves {name}!\n\n{principal} meghatalmazta Önt, hogy a nevében eljárjon ebben az ügytípusban: {matter}, {from} és {until} között.\n\nA meghatalmazás akkor érvényes, ha elfogadja: jelentkezzen be, és nyissa meg a Meghatalmazások oldalt. Ha nem vár ilyet, utasítsa el ugyanott.\n\nkapu\n", "Dear {name},\n\n{principal} has delegated to you the matter {matter}, from {from} to {until}.\n\nThe delegation is valid once you accept it: log in and open the Delegations page. If you did not expect it, refuse it there.\n\nkapu\n";
    mail_delegation_accepted_subject: "Elfogadták a meghatalmazását", "Your delegation was accepted";
    mail_delegation_accepted_body: "Kedves {name}!\n\n{agent} elfogadta a meghatalmazását ({matter}). Bármikor visszavonhatja a Meghatalmazások oldalon.\n\nkapu\n", "Dear {name},\n\n{agent} accepted your delegation ({matter}). You can revoke it at any time on the Delegations page.\n\nkapu\n";
    mail_delegation_ended_subject: "Megszűnt egy meghatalmazás", "A delegation has ended";
    mail_delegation_ended_body: "Kedves {name}!\n\n{by} megszüntette a meghatalmazást ({matter}). Részletek a Meghatalmazások oldalon.\n\nkapu\n", "Dear {name},\n\n{by} ended the delegation ({matter}). Details are on the Delegations page.\n\nkapu\n";
    mail_delegation_deleted_body: "Kedves {name}!\n\n{other} törölte Ügyfélkapu-fiókját, ezért a közös meghatalmazásuk ({matter}) megszűnt.\n\nkapu\n", "Dear {name},\n\n{other} deleted their Ügyfélkapu account, so your delegation ({matter}) has ended.\n\nkapu\n";
    identity_document: "Ellenőrzött okmány", "Document checked";
    identity_doc_id_card: "Személyazonosító igazolvány", "Identity card";
    identity_doc_passport: "Útlevél", "Passport";
    identity_doc_driving_licence: "Vezetői engedély", "Driving licence";
    identity_doc_residence_card: "Tartózkodási kártya", "Residence card";
    lost_code_hint: "16 számjegy, ahogy a mentett törlőkódon áll (a szóközök és kötőjelek nem számítanak).", "16 digits, as on the saved revocation code (spaces and dashes do not matter).";
    error_title: "Hiba", "Error";
    error_bad_request: "A kérés nem értelmezhető. Kérjük, térjen vissza, és próbálja újra.", "The request could not be understood. Please go back and try again.";
    error_bad_form: "Az űrlap hiányos volt, vagy olyan karaktereket tartalmazott, amelyeket nem tudunk feldolgozni. Kérjük, térjen vissza, és gépelje be újra.", "The form was incomplete or contained characters we cannot read. Please go back and type it again.";
    error_too_large: "Az elküldött adat túl nagy. Kérjük, térjen vissza, és adjon meg rövidebb értékeket.", "What you sent is too large. Please go back and enter shorter values.";
    error_too_slow: "Az űrlap adatai túl lassan érkeztek meg. Kérjük, küldje el újra.", "The form took too long to arrive. Please send it again.";
    error_csrf: "Az űrlap lejárt, vagy nem ebből a böngészőből érkezett. Töltse be újra az oldalt, és próbálja újra.", "The form has expired or did not come from this browser. Reload the page and try again.";
    error_not_found: "Az oldal nem található.", "Page not found.";
    error_internal: "Váratlan hiba történt. Ha újra előfordul, adja meg az ügyfélszolgálatnak ezt az azonosítót: {id}", "Something went wrong. If it happens again, give support this reference: {id}";
    back_home: "Vissza a kezdőlapra", "Back to the start page";
    footer: "kapu – központi azonosítás", "kapu – central identification";
    event_registered: "Regisztráció", "Registration";
    event_registration_confirmed: "Regisztráció megerősítése", "Registration confirmed";
    event_account_created_by_office: "Fiók létrehozása ügyfélszolgálaton", "Account created at an office";
    event_accounts_seeded: "Tesztfiókok létrehozása", "Test accounts seeded";
    event_login_succeeded: "Bejelentkezés", "Login";
    event_login_failed: "Sikertelen bejelentkezés", "Failed login";
    event_login_blocked: "Letiltott bejelentkezési kísérlet", "Blocked login attempt";
    event_locked_out: "Zárolás túl sok hibás próbálkozás miatt", "Locked after too many failures";
    event_unlocked: "Zárolás feloldása", "Unlocked";
    event_logout: "Kijelentkezés", "Logout";
    event_password_changed: "Jelszóváltoztatás", "Password changed";
    event_password_reset_requested: "Jelszó-visszaállítás kérése", "Password reset requested";
    event_password_reset: "Jelszó-visszaállítás", "Password reset";
    event_email_change_requested: "E-mail-cím változtatásának kérése", "Email change requested";
    event_email_changed: "E-mail-cím megváltozott", "Email address changed";
    event_name_changed: "Név megváltozott", "Name changed";
    event_settings_changed: "Beállítások módosítása", "Settings changed";
    event_account_deleted: "Fiók törlése", "Account deleted";
    event_two_step_enabled: "Ügyfélkapu+ bekapcsolása", "Ügyfélkapu+ turned on";
    event_two_step_device_changed: "Ügyfélkapu+ új eszközre", "Ügyfélkapu+ moved to a new device";
    event_two_step_revoked: "Ügyfélkapu+ megszüntetése törlőkóddal", "Ügyfélkapu+ cancelled with the revocation code";
    event_two_step_reset: "Ügyfélkapu+ megszüntetése kormányablakban", "Ügyfélkapu+ reset at a government office";
    event_code_failed: "Hibás kód", "Wrong code";
    event_code_locked: "Kódos azonosítás zárolása", "Code step locked";
    event_code_unlocked: "Kódos azonosítás feloldása", "Code step unlocked";
    event_sessions_ended: "Munkamenetek lezárása", "Sessions ended";
    event_service_logout_failed: "Szolgáltatás értesítése a kijelentkezésről sikertelen", "A service could not be told of a logout";
    event_two_step_activation_requested: "Ügyfélkapu+ bekapcsolása e-mailes megerősítésre vár", "Ügyfélkapu+ set-up waits for the emailed confirmation";
    event_two_step_activation_refused: "Ügyfélkapu+ bekapcsolásának elutasítása", "Ügyfélkapu+ set-up refused";
    event_service_login: "Bejelentkezés szolgáltatásba", "Login to a service";
    event_identity_verified: "Személyazonosság igazolása kormányablakban", "Identity verified at a government office";
    event_identity_bound: "Igazolt személyazonosság összekapcsolása", "Verified identity linked";
    event_consent_granted: "Hozzájárulás adatok átadásához", "Consent to share data";
    event_consent_refused: "Adatátadás elutasítása", "Data sharing refused";
    event_consent_withdrawn: "Hozzájárulás visszavonása", "Consent withdrawn";
    mail_two_step_enabled_subject: "Ügyfélkapu+ bekapcsolva", "Ügyfélkapu+ turned on";
    mail_two_step_enabled_body: "Kedves {name}!\n\nÜgyfélkapu-fiókján bekapcsolták az Ügyfélkapu+ kétlépcsős azonosítást ({time}).\n\nHa nem Ön volt, azonnal keresse fel egy kormányablakot.\n\nkapu\n", "Dear {name},\n\nÜgyfélkapu+ two-step login was turned on for your account ({time}).\n\nIf this was not you, visit a government office at once.\n\nkapu\n";
    mail_two_step_device_subject: "Ügyfélkapu+ új eszközre került", "Ügyfélkapu+ moved to a new device";
    mail_two_step_device_body: "Kedves {name}!\n\nAz Ügyfélkapu+ azonosítás új eszközre került ({time}); a régi eszköz kódjai nem érvényesek.\n\nHa nem Ön volt, azonnal keresse fel egy kormányablakot.\n\nkapu\n", "Dear {name},\n\nÜgyfélkapu+ was moved to a new device ({time}); codes from the old device are no longer valid.\n\nIf this was not you, visit a government office at once.\n\nkapu\n";
    mail_two_step_revoked_subject: "Ügyfélkapu+ megszüntetve", "Ügyfélkapu+ cancelled";
    mail_two_step_revoked_body: "Kedves {name}!\n\nAz Ügyfélkapu+ azonosítást a törlőkóddal megszüntették ({time}), és minden munkamenetét lezártuk.\n\nHa nem Ön volt, azonnal változtasson jelszót, és keressen fel egy kormányablakot.\n\nkapu\n", "Dear {name},\n\nÜgyfélkapu+ was cancelled with the revocation code ({time}) and all your sessions have ended.\n\nIf this was not you, change your password at once and visit a government office.\n\nkapu\n";
    mail_two_step_reset_subject: "Ügyfélkapu+ megszüntetve kormányablakban", "Ügyfélkapu+ reset at a government office";
    mail_two_step_reset_body: "Kedves {name}!\n\nAz Ügyfélkapu+ azonosítást kormányablakban, személyazonosság-ellenőrzés után megszüntették ({time}). Jelentkezzen be, és állítsa be újra.\n\nHa nem Ön kérte, azonnal jelezze.\n\nkapu\n", "Dear {name},\n\nÜgyfélkapu+ was reset at a government office after an identity check ({time}). Log in and set it up again.\n\nIf you did not ask for this, report it at once.\n\nkapu\n";
    mail_identity_code_subject: "Aktiváló kód az Ügyfélkapu-fiókjához", "Activation code for your Ügyfélkapu account";
    mail_identity_code_body: "Kedves {name}!\n\nSzemélyazonosságát {office} igazolta ({time}). Az igazolt adatokat ezzel az aktiváló kóddal kapcsolhatja Ügyfélkapu-fiókjához: jelentkezzen be, nyissa meg a Regisztrációs adatok oldalt, és válassza az „Aktiváló kód megadása” lehetőséget.\n\nAktiváló kód: {code}\n\nA kód {until}-ig érvényes, és egyszer használható. Senkinek ne adja tovább: aki ismeri, a saját fiókjához kapcsolhatja az Ön adatait.\n\nkapu\n", "Dear {name},\n\nYour identity was verified by {office} ({time}). With this activation code you link the verified data to your Ügyfélkapu account: log in, open Registration data and choose \"Enter an activation code\".\n\nActivation code: {code}\n\nThe code is valid until {until} and works once. Give it to nobody: whoever knows it can link your data to their own account.\n\nkapu\n";
    mail_identity_bound_subject: "Igazolt személyazonosság a fiókjában", "A verified identity in your account";
    mail_identity_bound_body: "Kedves {name}!\n\nFiókjához kormányablakban igazolt személyazonosság tartozik mostantól ({office}, {time}). A szolgáltatások, amelyeknek megengedi, megkaphatják igazolt adatait.\n\nHa nem Ön kérte, azonnal jelezze.\n\nkapu\n", "Dear {name},\n\nYour account now has an identity verified at a government office ({office}, {time}). Services you allow can receive your verified data.\n\nIf you did not ask for this, report it at once.\n\nkapu\n";
    mail_two_step_activation_subject: "Ügyfélkapu+ bekapcsolásának megerősítése", "Confirm turning on Ügyfélkapu+";
    mail_two_step_activation_body: "Kedves {name}!\n\nÜgyfélkapu-fiókjához Ügyfélkapu+ kétlépcsős azonosítást állítottak be egy hitelesítő alkalmazással ({time}, a(z) {address} címről). Mivel egylépcsős (csak jelszavas) bejelentkezés már nincs, az új eszköz csak akkor lép életbe, ha Ön az alábbi linken megerősíti ({hours} óráig érvényes, egyszer használható):\n\n{url}\n\nHa nem Ön volt: nyissa meg a linket, és válassza a „Nem én voltam” gombot, majd azonnal változtassa meg a jelszavát, mert valaki más ismeri. Ha a levelet nem tudja megnyitni, egy kormányablak is bekapcsolhatja, személyazonosság-ellenőrzés után.\n\nkapu\n", "Dear {name},\n\nÜgyfélkapu+ two-step login was set up for your Ügyfélkapu account with an authenticator app ({time}, from {address}). As one-step (password only) login has ended, the new device only takes effect once you confirm it at this link (valid for {hours} hours, single use):\n\n{url}\n\nIf it was not you: open the link and choose \"It was not me\", then change your password at once, because someone else knows it. If you cannot open this email, a government office can turn it on after checking your identity.\n\nkapu\n";
    mail_code_locked_subject: "Ügyfélkapu+ kódos azonosítás zárolva", "Ügyfélkapu+ code step locked";
    mail_code_locked_body: "Kedves {name}!\n\nTúl sok hibás kódot adtak meg a fiókjához ({time}), ezért a kódos azonosítást zároltuk. Feloldáshoz nyissa meg az alábbi linket, és adja meg a hitelesítő alkalmazásban látható kódot (egyszer használható):\n\n{url}\n\nHa nem Ön próbálkozott, valaki ismerheti a jelszavát: változtassa meg.\n\nkapu\n", "Dear {name},\n\nToo many wrong codes were entered for your account ({time}), so the code step is locked. To unlock it, open this link and enter the code your authenticator app shows (single use):\n\n{url}\n\nIf this was not you, someone may know your password: change it.\n\nkapu\n";
    mail_registration_subject: "Ügyfélkapu regisztráció megerősítése", "Confirm your Ügyfélkapu registration";
    mail_registration_body: "Tisztelt Ügyfelünk!\n\nEzzel az e-mail-címmel Ügyfélkapu-regisztrációt kezdeményeztek a(z) {username} felhasználónévvel. A regisztráció befejezéséhez nyissa meg az alábbi linket ({hours} óráig érvényes, egyszer használható):\n\n{url}\n\nHa nem Ön regisztrált, hagyja figyelmen kívül ezt a levelet: fiók nem jön létre.\n\nkapu\n", "Dear customer,\n\nSomeone started an Ügyfélkapu registration with this email address and the username {username}. To finish it, open this link (valid for {hours} hours, single use):\n\n{url}\n\nIf it was not you, ignore this email: no account will be made.\n\nkapu\n";
    mail_reset_subject: "Ügyfélkapu jelszó visszaállítása", "Reset your Ügyfélkapu password";
    mail_reset_body: "Tisztelt Ügyfelünk!\n\nA(z) {username} felhasználónévhez új jelszót kértek. Új jelszót az alábbi linken adhat meg ({minutes} percig érvényes, egyszer használható):\n\n{url}\n\nHa nem Ön kérte, hagyja figyelmen kívül ezt a levelet: a jelszava nem változik.\n\nkapu\n", "Dear customer,\n\nA new password was asked for the username {username}. You can set it at this link (valid for {minutes} minutes, single use):\n\n{url}\n\nIf you did not ask for this, ignore this email: your password stays as it is.\n\nkapu\n";
    mail_password_changed_subject: "Ügyfélkapu jelszava megváltozott", "Your Ügyfélkapu password was changed";
    mail_password_changed_body: "Kedves {name}!\n\nÜgyfélkapu-fiókja jelszava megváltozott ({time}).\n\nHa nem Ön volt, azonnal kérjen új jelszót az „Elfelejtett jelszó” linken, vagy keressen fel egy kormányablakot.\n\nkapu\n", "Dear {name},\n\nThe password of your Ügyfélkapu account was changed ({time}).\n\nIf this was not you, ask for a new password at once with the \"Forgotten password\" link, or visit a government office.\n\nkapu\n";
    mail_email_change_subject: "Ügyfélkapu e-mail-cím megerősítése", "Confirm your new Ügyfélkapu email address";
    mail_email_change_body: "Tisztelt Ügyfelünk!\n\nA(z) {username} felhasználónevű Ügyfélkapu-fiókhoz ezt az e-mail-címet adták meg. Az új cím életbe léptetéséhez nyissa meg az alábbi linket (egyszer használható):\n\n{url}\n\nHa nem Ön kérte, hagyja figyelmen kívül ezt a levelet: a címét nem használjuk.\n\nkapu\n", "Dear customer,\n\nThis email address was given for the Ügyfélkapu account with the username {username}. To start using it, open this link (single use):\n\n{url}\n\nIf you did not ask for this, ignore this email: your address will not be used.\n\nkapu\n";
    mail_email_change_notice_body: "Kedves {name}!\n\nÜgyfélkapu-fiókjához új e-mail-címet adtak meg: {email}. A változás a címre küldött link megnyitása után lép életbe.\n\nHa nem Ön volt, változtassa meg a jelszavát.\n\nkapu\n", "Dear {name},\n\nA new email address was entered for your Ügyfélkapu account: {email}. It takes effect once the link sent to it is opened.\n\nIf this was not you, change your password.\n\nkapu\n";
    mail_login_notice_subject: "Bejelentkezés az Ügyfélkapuba", "Login to Ügyfélkapu";
    mail_login_notice_body: "Kedves {name}!\n\nBejelentkeztek az Ügyfélkapu-fiókjába: {time}, cím: {address}.\n\nHa nem Ön volt, azonnal változtassa meg a jelszavát.\n\nkapu\n", "Dear {name},\n\nSomeone logged in to your Ügyfélkapu account: {time}, from {address}.\n\nIf this was not you, change your password at once.\n\nkapu\n";
    mail_deleted_subject: "Ügyfélkapu-fiókját töröltük", "Your Ügyfélkapu account was deleted";
    mail_deleted_body: "Kedves {name}!\n\nÜgyfélkapu-fiókját kérésére töröltük.\n\nkapu\n", "Dear {name},\n\nYour Ügyfélkapu account was deleted as you asked.\n\nkapu\n";
}

pub fn texts(lang: Language) -> &'static Texts {
    match lang {
        Language::Hu => &HU,
        Language::En => &EN,
    }
}

/// Replaces each `{key}` in `template` with its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

pub fn problem_text(t: &Texts, problem: &Problem) -> String {
    match problem {
        Problem::Username(e) => match e {
            UsernameError::Empty => t.problem_username_empty,
            UsernameError::TooShort => t.problem_username_short,
            UsernameError::TooLong => t.problem_username_long,
            UsernameError::InvalidCharacters => t.problem_username_chars,
        }
        .to_owned(),
        Problem::UsernameTaken => t.problem_username_taken.to_owned(),
        Problem::FullName(e) => match e {
            FullNameError::Empty => t.problem_name_empty,
            FullNameError::TooLong => t.problem_name_long,
            FullNameError::ControlCharacters => t.problem_name_control,
        }
        .to_owned(),
        Problem::Email(e) => match e {
            EmailAddressError::Empty => t.problem_email_empty,
            EmailAddressError::TooLong => t.problem_email_long,
            EmailAddressError::Invalid => t.problem_email_invalid,
        }
        .to_owned(),
        Problem::Password(r) => match r {
            PasswordRejection::TooShort { min } => fill(t.problem_password_short, &[("min", &min.to_string())]),
            PasswordRejection::TooLong { max } => fill(t.problem_password_long, &[("max", &max.to_string())]),
            PasswordRejection::Common => t.problem_password_common.to_owned(),
            PasswordRejection::ContainsContext => t.problem_password_context.to_owned(),
            PasswordRejection::ControlCharacters => t.problem_password_control.to_owned(),
        },
        Problem::PasswordMismatch => t.problem_password_mismatch.to_owned(),
        Problem::PasswordEmpty => t.problem_password_empty.to_owned(),
        Problem::WrongPassword => t.problem_wrong_password.to_owned(),
        Problem::MustConfirm => t.problem_must_confirm.to_owned(),
        Problem::CodeFormat(_) => t.problem_code_format.to_owned(),
        Problem::WrongCode => t.problem_wrong_code.to_owned(),
        Problem::CodeAlreadyUsed => t.problem_code_already_used.to_owned(),
        Problem::TooManyAttempts => t.problem_too_many_attempts.to_owned(),
        Problem::MustConfirmSaved => t.problem_must_confirm_saved.to_owned(),
        Problem::RevocationDataWrong => t.problem_revocation_data_wrong.to_owned(),
        Problem::RevocationCodeFormat => t.problem_revocation_code_format.to_owned(),
        Problem::BindingCodeEmpty => t.problem_binding_code_empty.to_owned(),
        Problem::BindingCodeFormat => t.problem_binding_code_format.to_owned(),
        Problem::BindingCodeWrong => t.problem_binding_code_wrong.to_owned(),
        Problem::DateFormat => t.problem_date_format.to_owned(),
        Problem::DelegationAgentUnknown => t.problem_delegation_agent_unknown.to_owned(),
        Problem::DelegationAgentSelf => t.problem_delegation_agent_self.to_owned(),
        Problem::DelegationMatter => t.problem_delegation_matter.to_owned(),
        Problem::DelegationService => t.problem_delegation_service.to_owned(),
        Problem::DelegationStartPast => t.problem_delegation_start_past.to_owned(),
        Problem::DelegationEndBeforeStart => t.problem_delegation_end_before_start.to_owned(),
        Problem::DelegationTooLong { max_days } => {
            fill(t.problem_delegation_too_long, &[("days", &max_days.to_string())])
        }
    }
}

pub fn event_text(t: &Texts, event: AuditEvent) -> &'static str {
    match event {
        AuditEvent::Registered => t.event_registered,
        AuditEvent::RegistrationConfirmed => t.event_registration_confirmed,
        AuditEvent::AccountCreatedByOffice => t.event_account_created_by_office,
        AuditEvent::AccountsSeeded => t.event_accounts_seeded,
        AuditEvent::LoginSucceeded => t.event_login_succeeded,
        AuditEvent::LoginFailed => t.event_login_failed,
        AuditEvent::LoginBlocked => t.event_login_blocked,
        AuditEvent::LockedOut => t.event_locked_out,
        AuditEvent::Unlocked => t.event_unlocked,
        AuditEvent::Logout => t.event_logout,
        AuditEvent::PasswordChanged => t.event_password_changed,
        AuditEvent::PasswordResetRequested => t.event_password_reset_requested,
        AuditEvent::PasswordReset => t.event_password_reset,
        AuditEvent::EmailChangeRequested => t.event_email_change_requested,
        AuditEvent::EmailChanged => t.event_email_changed,
        AuditEvent::NameChanged => t.event_name_changed,
        AuditEvent::SettingsChanged => t.event_settings_changed,
        AuditEvent::AccountDeleted => t.event_account_deleted,
        AuditEvent::TwoStepEnabled => t.event_two_step_enabled,
        AuditEvent::TwoStepDeviceChanged => t.event_two_step_device_changed,
        AuditEvent::TwoStepRevoked => t.event_two_step_revoked,
        AuditEvent::TwoStepReset => t.event_two_step_reset,
        AuditEvent::CodeFailed => t.event_code_failed,
        AuditEvent::CodeLocked => t.event_code_locked,
        AuditEvent::CodeUnlocked => t.event_code_unlocked,
        AuditEvent::SessionsEnded => t.event_sessions_ended,
        AuditEvent::ServiceLogoutFailed => t.event_service_logout_failed,
        AuditEvent::TwoStepActivationRequested => t.event_two_step_activation_requested,
        AuditEvent::TwoStepActivationRefused => t.event_two_step_activation_refused,
        AuditEvent::ServiceLogin => t.event_service_login,
        AuditEvent::IdentityVerified => t.event_identity_verified,
        AuditEvent::IdentityBound => t.event_identity_bound,
        AuditEvent::ConsentGranted => t.event_consent_granted,
        AuditEvent::ConsentRefused => t.event_consent_refused,
        AuditEvent::ConsentWithdrawn => t.event_consent_withdrawn,
        AuditEvent::DelegationGranted => t.event_delegation_granted,
        AuditEvent::DelegationAccepted => t.event_delegation_accepted,
        AuditEvent::DelegationEnded => t.event_delegation_ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiler checks every entry has both languages; this checks none
    /// was left empty or accidentally the same where it should differ.
    #[test]
    fn every_text_is_present_and_placeholders_match() {
        let hu = format!("{HU:?}");
        let en = format!("{EN:?}");
        assert!(!hu.contains(": \"\""), "an empty Hungarian text");
        assert!(!en.contains(": \"\""), "an empty English text");
        for (h, e) in [
            (HU.login_blocked, EN.login_blocked),
            (HU.mail_registration_body, EN.mail_registration_body),
            (HU.mail_reset_body, EN.mail_reset_body),
            (HU.error_internal, EN.error_internal),
            (HU.password_hint, EN.password_hint),
            (HU.mail_login_notice_body, EN.mail_login_notice_body),
        ] {
            let keys = |s: &str| {
                let mut k: Vec<String> =
                    s.split('{').skip(1).filter_map(|p| p.split('}').next().map(str::to_owned)).collect();
                k.sort();
                k
            };
            assert_eq!(keys(h), keys(e), "placeholders differ: {h:?} / {e:?}");
        }
    }

    #[test]
    fn every_event_has_a_name() {
        for e in AuditEvent::ALL {
            assert!(!event_text(&HU, e).is_empty());
            assert_ne!(event_text(&HU, e), event_text(&EN, e), "{e:?}");
        }
    }

    #[test]
    fn fill_replaces_placeholders() {
        assert_eq!(fill("a {x} b {y}", &[("x", "1"), ("y", "2")]), "a 1 b 2");
    }
}
