//! The operator's commands on apps and tokens (`faced app …`, `faced token …`): each prints
//! JSON on stdout, one object per line, so scripts can read it.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use faced_library::{Library, QuotaChange, EVERY_API};
use faced_service::quota::{local_day, zone_named};

use crate::config::Config;
use crate::open_library;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Revoke one access token (its next use answers 110).
    Revoke {
        /// The access token.
        #[arg(long)]
        token: String,
    },
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Create an app; prints its AppID, API Key and Secret Key as one JSON line.
    Create {
        /// A name for people.
        #[arg(long)]
        name: String,
    },
    /// List apps, one JSON line each (never secrets).
    List,
    /// Show one app (never its secret).
    Show {
        /// The app's AppID.
        #[arg(long)]
        app: String,
    },
    /// Give an app a new Secret Key and revoke all its tokens; prints the new credentials.
    RotateSecret {
        /// The app's AppID.
        #[arg(long)]
        app: String,
    },
    /// Delete an app with its tokens and its whole face library.
    Delete {
        /// The app's AppID.
        #[arg(long)]
        app: String,
    },
    /// Restrict the APIs an app may call (others answer error 6), or allow all again.
    SetPermissions {
        /// The app's AppID.
        #[arg(long)]
        app: String,
        /// Comma-separated API names: the path after `/face/v3/`, e.g. `detect,search,faceset/user/add`.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        apis: Option<String>,
        /// Allow every API.
        #[arg(long)]
        all: bool,
    },
    /// Limit an app's calls per second (error 18), per day (17) and in total (19). Each API
    /// is limited on its own; without `--api` the limits are the app's default for every API,
    /// which an API's own limits override field by field. `none` removes a limit.
    SetQuota {
        /// The app's AppID.
        #[arg(long)]
        app: String,
        /// The API: its path after `/face/v3/`, e.g. `detect` or `faceset/user/add`.
        #[arg(long)]
        api: Option<String>,
        /// Calls per second, or `none`.
        #[arg(long, value_parser = parse_limit)]
        qps: Option<Limit>,
        /// Calls per day (reset at local midnight of `quota_timezone`), or `none`.
        #[arg(long, value_parser = parse_limit)]
        daily: Option<Limit>,
        /// Calls ever, or `none`.
        #[arg(long, value_parser = parse_limit)]
        total: Option<Limit>,
    },
}

/// A limit given on the command line: a number, or `none` for no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limit(Option<u64>);

fn parse_limit(text: &str) -> Result<Limit, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Limit(None));
    }
    text.parse()
        .map(|n| Limit(Some(n)))
        .map_err(|_| format!("{text:?} is neither a non-negative number nor `none`"))
}

/// Runs `faced token …`.
pub fn token(command: TokenCommand, config: &Config) -> anyhow::Result<()> {
    let TokenCommand::Revoke { token } = command;
    let revoked = open_library(config)?.revoke_token(&token)?;
    println!("{}", serde_json::json!({"revoked": revoked}));
    if revoked {
        Ok(())
    } else {
        Err(anyhow!("no such token"))
    }
}

/// Runs `faced app …`.
pub fn app(command: AppCommand, config: &Config) -> anyhow::Result<()> {
    let library = open_library(config)?;
    match command {
        AppCommand::Create { name } => {
            let created = library.create_app(&name)?;
            let shown = serde_json::json!({
                "app_id": created.app_id,
                "api_key": created.api_key,
                "secret_key": created.secret_key,
            });
            println!("{shown}");
        }
        AppCommand::List => {
            for app in library.list_apps()? {
                println!("{}", serde_json::to_string(&app)?);
            }
        }
        AppCommand::Show { app } => show(&library, &app, config)?,
        AppCommand::RotateSecret { app } => {
            let secret_key = library.rotate_secret(&app)?;
            let shown = library
                .app_by_id(&app)?
                .ok_or_else(|| anyhow!("no app {app}"))?;
            let shown = serde_json::json!({
                "app_id": shown.app_id,
                "api_key": shown.api_key,
                "secret_key": secret_key,
            });
            println!("{shown}");
        }
        AppCommand::Delete { app } => {
            library.delete_app(&app)?;
            println!("{}", serde_json::json!({"deleted": app}));
        }
        AppCommand::SetPermissions { app, apis, all } => {
            let apis = match apis {
                Some(list) if !all => Some(api_list(&list)?),
                _ => None,
            };
            library.set_permissions(&app, apis)?;
            show(&library, &app, config)?;
        }
        AppCommand::SetQuota {
            app,
            api,
            qps,
            daily,
            total,
        } => {
            let scope = match api {
                Some(name) => known_api(&name)?,
                None => EVERY_API.to_owned(),
            };
            if qps.is_none() && daily.is_none() && total.is_none() {
                bail!("nothing to set: give --qps, --daily and/or --total");
            }
            let change = QuotaChange {
                qps: qps.map(|l| l.0),
                daily: daily.map(|l| l.0),
                total: total.map(|l| l.0),
            };
            library.set_quota(&app, &scope, change)?;
            show(&library, &app, config)?;
        }
    }
    Ok(())
}

/// Prints an app (never its secret) with its quotas and today's usage.
fn show(library: &Library, app: &str, config: &Config) -> anyhow::Result<()> {
    let info = library
        .app_by_id(app)?
        .ok_or_else(|| anyhow!("no app {app}"))?;
    let zone = zone_named(&config.quota_timezone).map_err(|e| anyhow!(e))?;
    let day = local_day(&zone, faced_service::unix_now());
    let mut shown = serde_json::to_value(&info)?;
    if let Some(object) = shown.as_object_mut() {
        object.insert("quotas".into(), serde_json::to_value(library.quotas(app)?)?);
        object.insert("day".into(), serde_json::Value::String(day.clone()));
        object.insert(
            "usage".into(),
            serde_json::to_value(library.usage(app, &day)?)?,
        );
    }
    println!("{shown}");
    Ok(())
}

/// A comma-separated list of API names, each checked.
fn api_list(list: &str) -> anyhow::Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(known_api)
        .collect()
}

/// An API name as permissions and quotas spell it, or an error listing the known ones.
fn known_api(name: &str) -> anyhow::Result<String> {
    let name = name.trim().trim_matches('/');
    if faced_wire::API_NAMES.contains(&name) {
        Ok(name.to_owned())
    } else {
        bail!(
            "unknown API {name:?}; the APIs are: {}",
            faced_wire::API_NAMES.join(", ")
        )
    }
}
