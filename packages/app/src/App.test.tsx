import { render, waitFor } from '@testing-library/react';
import App from './App';

describe('App', () => {
  it('renders the sign-in page of the Ferry app, offering both demo users', async () => {
    process.env = {
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: { title: 'Ferry' },
            backend: { baseUrl: 'http://localhost:7007' },
          },
          context: 'test',
        },
      ] as any,
    };
    const rendered = render(<App />);
    await waitFor(() => {
      expect(rendered.getByText('Ferry')).toBeInTheDocument();
    });
    expect(rendered.getByRole('button', { name: 'Sign in as Service owner' })).toBeInTheDocument();
    expect(rendered.getByRole('button', { name: 'Sign in as Platform administrator' })).toBeInTheDocument();
    expect(rendered.getByText('user:default/shop-owner')).toBeInTheDocument();
    expect(rendered.getByText('user:default/platform-admin')).toBeInTheDocument();
  });
});
