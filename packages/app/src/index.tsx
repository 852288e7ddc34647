import '@backstage/cli/asset-types';
import ReactDOM from 'react-dom/client';
import App from './App';
// Backstage UI's global CSS: since @backstage/theme 0.7 it is the app's base styles (box-sizing,
// body margin) that the theme's CssBaseline used to provide. Without it every page is the
// sidebar's width wider than the window (content-box sizing of SidebarPage's padding).
import '@backstage/ui/css/styles.css';

ReactDOM.createRoot(document.getElementById('root')!).render(<App />);
